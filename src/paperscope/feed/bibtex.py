"""BibTeX of papers (a paper page, a search result, a collection, a library), written with bibtexparser; an
export for its owner carries their private notes as `note`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping

from bibtexparser.entrypoint import write_string
from bibtexparser.library import Library
from bibtexparser.model import Entry, Field

from paperscope.ids import is_derived_id, parse_arxiv_id
from paperscope.models import Paper

_SPECIAL = re.compile(r"(?<!\\)([&%#])")
_STOP = frozenset({"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "towards", "toward"})


def _latex(text: str) -> str:
    """Text safe inside a braced BibTeX value: &, % and # escaped, braces balanced."""
    text = _SPECIAL.sub(r"\\\1", " ".join(text.split()))
    depth = 0
    kept = []
    for ch in text:
        if ch == "{":
            depth += 1
        elif ch == "}":
            if depth == 0:
                continue
            depth -= 1
        kept.append(ch)
    return "".join(kept) + "}" * depth


def _ascii_word(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", plain.lower())


def _family(name: str) -> str:
    name = name.strip()
    if "," in name:
        return name.split(",", 1)[0]
    return name.split()[-1] if name.split() else ""


def _author(name: str) -> str:
    """`Given Family` as `Family, Given`, which BibTeX splits unambiguously."""
    name = " ".join(name.split())
    if "," in name or " " not in name:
        return name
    given, family = name.rsplit(" ", 1)
    return f"{family}, {given}"


def _arxiv_year(paper_id: str) -> str:
    """The year of a new-style arXiv id (2503.11731 -> 2025), or ""."""
    parsed = parse_arxiv_id(paper_id)
    return "20" + parsed[0][:2] if parsed and re.match(r"^\d{4}\.", parsed[0]) else ""


def citation_key(paper: Paper) -> str:
    """family name + year + first significant title word, e.g. zeng2025industrial."""
    family = _ascii_word(_family(paper.authors[0])) if paper.authors else ""
    year = str(paper.published.year) if paper.published else _arxiv_year(paper.id)
    words = [_ascii_word(w) for w in paper.title.split()]
    word = next((w for w in words if w and w not in _STOP), "")
    return (family + year + word) or _ascii_word(paper.id) or "paper"


def paper_entry(paper: Paper, key: str, note: str | None = None) -> Entry:
    """The BibTeX entry of a paper; `note` (a user's private note, as written) becomes its `note` field."""
    fields = [Field("title", "{" + _latex(paper.title) + "}")]
    if paper.authors:
        fields.append(Field("author", " and ".join(_latex(_author(a)) for a in paper.authors)))
    year = str(paper.published.year) if paper.published else _arxiv_year(paper.id)
    if year:
        fields.append(Field("year", year))
    arxiv = parse_arxiv_id(paper.id)
    if arxiv and not is_derived_id(paper.id):
        fields += [Field("eprint", arxiv[0]), Field("archivePrefix", "arXiv")]
        if paper.primary_category:
            fields.append(Field("primaryClass", paper.primary_category))
    if paper.journal_ref:
        fields.append(Field("journal", _latex(paper.journal_ref)))
    if paper.doi:
        fields.append(Field("doi", paper.doi))
    if paper.abs_url:
        fields.append(Field("url", paper.abs_url))
    if note and note.strip():
        fields.append(Field("note", _latex(note)))
    return Entry("article" if paper.journal_ref else "misc", key, fields)


def to_bibtex(papers: Iterable[Paper], notes: Mapping[str, str] | None = None) -> str:
    """One BibTeX entry per paper, keys made unique with a, b, c... suffixes. `notes` (paper id -> text) are
    the exporting user's own notes, written as each entry's `note`: callers pass them only to their author."""
    library = Library()
    used: set[str] = set()
    for paper in papers:
        base = key = citation_key(paper)
        suffix = 0
        while key in used:
            suffix += 1
            key = f"{base}{chr(ord('a') + suffix - 1) if suffix <= 26 else suffix}"
        used.add(key)
        library.add(paper_entry(paper, key, (notes or {}).get(paper.id)))
    return str(write_string(library))
