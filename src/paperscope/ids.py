"""Paper identifiers: arXiv id normalisation and the keys that link records without a shared id."""

from __future__ import annotations

import hashlib
import re
import unicodedata

# New-style ids (0704.0001 onwards) and old-style ids (hep-th/9901001, math.GT/0309136).
_NEW_ID = r"(?P<new>\d{4}\.\d{4,5})"
_OLD_ID = r"(?P<archive>[a-z][a-z\-]*)(?:\.[A-Za-z]{2})?/(?P<number>\d{7})"
_VERSION = r"(?:v(?P<version>\d+))?"
_ARXIV_ID = re.compile(rf"^(?:{_NEW_ID}|{_OLD_ID}){_VERSION}$", re.IGNORECASE)
_ARXIV_PREFIX = re.compile(
    r"^(?:arxiv:|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/)", re.IGNORECASE
)
# An arXiv id mentioned inside free text ("arXiv preprint arXiv:2301.00001", a URL in a BibTeX field).
_ARXIV_IN_TEXT = re.compile(
    rf"(?:arxiv\.org/(?:abs|pdf|html)/|arxiv:\s*)(?:{_NEW_ID}|{_OLD_ID}){_VERSION}", re.IGNORECASE
)

_WORD = re.compile(r"[^\W_]+")

DERIVED_ID_PREFIX = "title-"


def parse_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """Normalise an arXiv id, URL or `arXiv:` reference to `(id, version)`, or None if it is not one.

    >>> parse_arxiv_id("https://arxiv.org/pdf/2503.11731v2.pdf")
    ('2503.11731', 2)
    >>> parse_arxiv_id("math.GT/0309136")
    ('math/0309136', None)
    """
    text = _ARXIV_PREFIX.sub("", text.strip())
    if text.lower().endswith(".pdf"):
        text = text[:-4]
    match = _ARXIV_ID.match(text.rstrip("/"))
    return _from_match(match) if match else None


def find_arxiv_id(text: str) -> tuple[str, int | None] | None:
    """The first arXiv reference (URL or `arXiv:NNNN.NNNNN`) inside free text, normalised."""
    match = _ARXIV_IN_TEXT.search(text)
    return _from_match(match) if match else None


def _from_match(match: re.Match[str]) -> tuple[str, int | None]:
    version = int(match["version"]) if match["version"] else None
    if match["new"]:
        return match["new"], version
    return f"{match['archive'].lower()}/{match['number']}", version


def title_key(title: str) -> str:
    """Lower-case ASCII words of a title, so that "{GoalEx}: Goal-Driven..." matches "GoalEx: goal driven..."."""
    if title.isascii():
        text = title.lower()
    else:
        text = unicodedata.normalize("NFKD", title)
        text = "".join(ch for ch in text if not unicodedata.combining(ch)).casefold()
    return " ".join(_WORD.findall(text))


def author_key(name: str) -> str:
    """The normalised family name of an author written "First Last" or "Last, First"."""
    name = name.strip()
    family = name.split(",")[0] if "," in name else (name.split() or [""])[-1]
    return title_key(family)


def author_words(name: str) -> list[str]:
    """The distinct normalised words of an author's name, in order: what the author filter matches (a
    family name, a given name, an initial's prefix or the full name in either order, whatever the case
    and accents). "Lovelace, Ada" and "ADA LOVELACE" both give ["lovelace", "ada"] or ["ada", "lovelace"]."""
    return list(dict.fromkeys(title_key(name).split()))


def derived_id(title: str) -> str:
    """A stable id for a paper whose source gives none, derived from its normalised title."""
    digest = hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:12]
    return f"{DERIVED_ID_PREFIX}{digest}"


def is_derived_id(paper_id: str) -> bool:
    return paper_id.startswith(DERIVED_ID_PREFIX)
