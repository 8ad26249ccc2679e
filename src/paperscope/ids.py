"""Paper identifiers: arXiv id normalisation and the keys that link records without a shared id."""

from __future__ import annotations

import functools
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


# Strong ids ------------------------------------------------------------------------------------
# A paper is known by ids from many services. Each is written as a reference "kind:value" with the value
# normalised, so that two records sharing any reference are one paper. The kinds in priority order: the
# paper's own id (the one in its URL) is its best reference (`canonical_id`).

ID_KINDS = ("arxiv", "doi", "pmid", "pmcid", "openreview", "openalex", "s2", "s2corpus")
# The kind of the paperscope ids a paper had before a merge gave it a better one, and of derived ids.
FORMER_KIND = "paperscope"
# Kinds of which one paper has exactly one value: two different values mean two papers, whatever else they
# share (a DOI given to several arXiv papers does not make them one). A paper may have several DOIs (its
# preprint's and its published version's).
EXCLUSIVE_KINDS = frozenset({"arxiv", "pmid", "pmcid", "openreview", "openalex", "s2", "s2corpus"})

MAX_ID_CHARS = 64  # the width of a paper id in the database; a longer reference is kept, but never an id
MAX_REF_CHARS = 300  # the width of a stored reference

_DOI = re.compile(r"^10\.\d{4,9}/\S+$")
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*|doi\s+)", re.IGNORECASE)
_OPENALEX = re.compile(r"^(?:https?://openalex\.org/)?(W\d+)$", re.IGNORECASE)
_PMID = re.compile(r"^(?:pmid:\s*)?(\d{1,9})$", re.IGNORECASE)
_PMCID = re.compile(r"^(?:pmcid:\s*)?(?:PMC)?(\d{1,9})$", re.IGNORECASE)
_S2 = re.compile(r"^[0-9a-f]{40}$")
_CORPUS = re.compile(r"^(?:corpusid:\s*)?(\d{1,12})$", re.IGNORECASE)
_OPENREVIEW = re.compile(r"^[A-Za-z0-9_\-]{4,64}$")


def normalise_doi(text: str) -> str | None:
    """A DOI in its canonical form (lower case, no resolver or `doi:` prefix), or None if it is not one.

    >>> normalise_doi("https://doi.org/10.1038/NATURE12373")
    '10.1038/nature12373'
    """
    value = _DOI_PREFIX.sub("", text.strip()).strip()
    value = value.rstrip(".")  # a DOI at the end of a sentence
    return value.lower() if _DOI.match(value) else None


@functools.lru_cache(maxsize=1 << 16)  # every merge asks for the references of each record several times
def id_ref(kind: str, value: str | int) -> str | None:
    """The reference "kind:value" of an id of the given kind, normalised, or None if `value` is not one."""
    text = str(value).strip()
    normal: str | None
    if kind == "arxiv":
        parsed = parse_arxiv_id(text)
        normal = parsed[0] if parsed else None
    elif kind == "doi":
        normal = normalise_doi(text)
    elif kind == "openalex":
        match = _OPENALEX.match(text)
        normal = match[1].upper() if match else None
    elif kind == "pmid":
        match = _PMID.match(text)
        normal = str(int(match[1])) if match else None
    elif kind == "pmcid":
        match = _PMCID.match(text)
        normal = f"PMC{int(match[1])}" if match else None
    elif kind == "s2":
        normal = text.lower() if _S2.match(text.lower()) else None
    elif kind == "s2corpus":
        match = _CORPUS.match(text)
        normal = str(int(match[1])) if match else None
    elif kind == "openreview":
        normal = text if _OPENREVIEW.match(text) else None
    elif kind == FORMER_KIND:
        normal = text or None
    else:
        raise ValueError(f"unknown id kind {kind!r}")
    return f"{kind}:{normal}" if normal else None


def split_ref(ref: str) -> tuple[str, str]:
    """The kind and value of a reference "kind:value"."""
    kind, _, value = ref.partition(":")
    return kind, value


@functools.lru_cache(maxsize=1 << 16)
def ref_of_id(paper_id: str) -> str:
    """The reference a paperscope paper id stands for: "arxiv:ID" for an arXiv id, the id itself for the
    "kind:value" ids of other services, "paperscope:ID" for a derived id."""
    if is_derived_id(paper_id):
        return f"{FORMER_KIND}:{paper_id}"
    kind, _, _ = paper_id.partition(":")
    if kind in ID_KINDS:
        return paper_id
    parsed = parse_arxiv_id(paper_id)
    return f"arxiv:{parsed[0]}" if parsed else f"{FORMER_KIND}:{paper_id}"


def canonical_id(refs: set[str] | list[str]) -> str | None:
    """The paperscope id of a paper known by `refs`: its best reference by kind (see ID_KINDS), the smallest
    value of that kind; a bare arXiv id for arXiv papers. None when it has no strong id that fits an id."""
    best: tuple[int, str] | None = None
    for ref in refs:
        kind, _ = split_ref(ref)
        if kind in ID_KINDS and len(ref) <= MAX_ID_CHARS:
            key = (ID_KINDS.index(kind), ref)
            best = key if best is None or key < best else best
    if best is None:
        return None
    ref = best[1]
    return split_ref(ref)[1] if ref.startswith("arxiv:") else ref


def parse_paper_ref(text: str) -> str | None:
    """The reference named by what a user types or a URL holds: an arXiv id or URL, a DOI in any spelling,
    "pmid:N", "PMC123", "openalex:W1", "s2:HEX", "CorpusId:N", "openreview:ID", or an OpenReview forum URL."""
    text = text.strip()
    if parse_arxiv_id(text):
        return id_ref("arxiv", text)
    if doi := normalise_doi(text):
        return f"doi:{doi}"
    if match := re.match(r"^https?://openreview\.net/(?:forum|pdf)\?id=([A-Za-z0-9_\-]+)", text):
        return id_ref("openreview", match[1])
    if match := re.match(r"^https?://(?:pubmed\.ncbi\.nlm\.nih\.gov|www\.ncbi\.nlm\.nih\.gov/pubmed)/(\d+)", text):
        return id_ref("pmid", match[1])
    kind, sep, value = text.partition(":")
    kind = {"corpusid": "s2corpus", "pmc": "pmcid"}.get(kind.lower(), kind.lower())
    if sep and kind in (*ID_KINDS, FORMER_KIND):
        return id_ref(kind, value)
    if text.upper().startswith("PMC"):
        return id_ref("pmcid", text)
    return None


def ids_by_kind(refs: list[str], preferred_doi: str | None = None) -> dict[str, str]:
    """One id per kind (the API's `ids`): the first value of each kind of `ids.ID_KINDS` but s2corpus;
    `preferred_doi` (the paper's `doi` field, its published version) where it is one of them."""
    found: dict[str, str] = {}
    for ref in sorted(refs):
        kind, value = split_ref(ref)
        if kind in ID_KINDS and kind != "s2corpus":
            found.setdefault(kind, value)
    doi = normalise_doi(preferred_doi) if preferred_doi else None
    if doi and f"doi:{doi}" in refs:
        found["doi"] = doi
    return found


# Author ids --------------------------------------------------------------------------------------
# Authors whose source names them by an id become records of their own: "orcid:0000-0002-1825-0097",
# "openalex:A5023888391", "s2author:1741101". Names without an id stay names (see docs/sources.md).

AUTHOR_ID_KINDS = ("orcid", "openalex", "s2author")
_ORCID = re.compile(r"^(?:https?://orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])$", re.IGNORECASE)
_OPENALEX_AUTHOR = re.compile(r"^(?:https?://openalex\.org/)?(A\d+)$", re.IGNORECASE)


def author_ref(kind: str, value: str | int) -> str | None:
    """The reference "kind:value" of an author id (ORCID, OpenAlex author, Semantic Scholar author), or None."""
    text = str(value).strip()
    if kind == "orcid":
        digits = text.rsplit("/", 1)[-1].replace("-", "").upper()  # PubMed writes them without dashes
        if len(digits) == 16 and digits[:15].isdigit() and digits[15] in "0123456789X":
            text = "-".join(digits[i:i + 4] for i in range(0, 16, 4))
        match = _ORCID.match(text)
        return f"orcid:{match[1].upper()}" if match else None
    if kind == "openalex":
        match = _OPENALEX_AUTHOR.match(text)
        return f"openalex:{match[1].upper()}" if match else None
    if kind == "s2author":
        return f"s2author:{int(text)}" if text.isdigit() else None
    raise ValueError(f"unknown author id kind {kind!r}")
