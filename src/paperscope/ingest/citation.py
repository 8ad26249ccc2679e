"""One paper from a reference manager's record (CSL-JSON, RIS), whatever the file format.

Reference managers (Zotero, Mendeley, EndNote) describe a paper by a handful of fields: title, authors,
date, DOI, URL, venue and free-text notes. `paper_of` turns those fields into a `Paper` the same way for
every format: its id is its best strong id (arXiv, DOI, PMID, PMCID; see ids.canonical_id), else an id
derived from the title, which the store links to a stored paper with the same title and first author.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from paperscope.ids import canonical_id, derived_id, find_arxiv_id, id_ref, normalise_doi, parse_arxiv_id
from paperscope.ingest.fields import arxiv_links, clean_text
from paperscope.models import Paper

_ARXIV_DOI = re.compile(r"10\.48550/arxiv\.(\S+)", re.IGNORECASE)
_NOT_A_VENUE = re.compile(r"\barxiv\b|\bcorr\b|\bpreprint\b|\be-?prints?\b", re.IGNORECASE)
# Lines of Zotero's "Extra" field (CSL `note`, RIS N1) that only carry an id: "arXiv: 2301.00001", "PMID: 1".
_ID_LINE = re.compile(r"^\s*(arxiv|pmid|pmcid|doi|citation key|tex\.\w+|_eprint)\s*:\s*(\S.*)$", re.IGNORECASE)


@dataclass
class Citation:
    """The fields of one reference-manager record, as text; `where_ids` are fields that may name an arXiv
    id (URL, archive number, note) in any of the forms exporters write."""

    title: str
    authors: list[str] = field(default_factory=list)
    date: tuple[int, int | None, int | None] | None = None  # year, month, day
    doi: str = ""
    url: str = ""
    pmid: str = ""
    pmcid: str = ""
    abstract: str = ""
    venue: str = ""
    volume: str = ""
    issue: str = ""
    pages: str = ""
    note: str = ""
    arxiv_hints: list[str] = field(default_factory=list)


def paper_of(citation: Citation, source: str) -> Paper:
    """The paper a record describes (see the module docstring for its id)."""
    title = clean_text(citation.title)
    note_ids, comment = _split_note(citation.note)
    arxiv = _arxiv_id([citation.doi, citation.url, *citation.arxiv_hints, *note_ids.get("arxiv", [])])
    doi = normalise_doi(citation.doi) or next((d for v in note_ids.get("doi", []) if (d := normalise_doi(v))), None)
    if doi and _ARXIV_DOI.match(doi):
        doi = None  # arXiv's own DOI names the preprint, given as its arXiv id
    refs = {ref for ref in (
        id_ref("arxiv", arxiv) if arxiv else None,
        id_ref("doi", doi) if doi else None,
        *(id_ref("pmid", v) for v in [citation.pmid, *note_ids.get("pmid", [])] if v),
        *(id_ref("pmcid", v) for v in [citation.pmcid, *note_ids.get("pmcid", [])] if v),
    ) if ref}
    url = citation.url.strip()
    abs_url: str | None
    pdf_url: str | None = None
    if arxiv:
        abs_url, pdf_url = arxiv_links(arxiv)
    else:
        abs_url = url if url.startswith(("http://", "https://")) else (f"https://doi.org/{doi}" if doi else None)
    return Paper(
        id=canonical_id(refs) or derived_id(title),
        title=title,
        abstract=clean_text(citation.abstract),
        authors=[clean_text(a) for a in citation.authors if clean_text(a)],
        # arXiv's own dates are exact; a year alone would pull them back to January 1st on merge.
        published=_published(citation.date, exact_only=bool(arxiv)),
        abs_url=abs_url,
        pdf_url=pdf_url,
        doi=doi,
        comment=comment,
        journal_ref=_journal_ref(citation),
        sources=[source],
        ids=sorted(refs),
    )


def _arxiv_id(values: list[str]) -> str | None:
    for value in values:
        value = value.strip()
        if not value:
            continue
        doi = _ARXIV_DOI.search(value)
        found = (parse_arxiv_id(doi[1]) if doi else None) or parse_arxiv_id(value) or find_arxiv_id(value)
        if found:
            return found[0]
    return None


def _split_note(note: str) -> tuple[dict[str, list[str]], str | None]:
    """The ids named on lines of a note ("arXiv: 2301.00001", "PMID: 12345"), and the rest as a comment."""
    ids: dict[str, list[str]] = {}
    kept = []
    for line in note.splitlines():
        match = _ID_LINE.match(line)
        if match:
            ids.setdefault(match[1].lower(), []).append(match[2].strip())
        elif line.strip():
            kept.append(line.strip())
    comment = clean_text(" ".join(kept))
    return ids, comment or None


def _published(date: tuple[int, int | None, int | None] | None, *, exact_only: bool) -> dt.date | None:
    if date is None:
        return None
    year, month, day = date
    if not 1000 <= year <= 2999:
        return None
    if exact_only and day is None:
        return None
    try:
        return dt.date(year, month or 1, day or 1)
    except ValueError:
        try:
            return dt.date(year, month or 1, 1)
        except ValueError:
            return dt.date(year, 1, 1)


def _journal_ref(citation: Citation) -> str | None:
    """"Neural Computation 9(8), 1735-1780 (1997)", like arXiv's journal_ref; None for arXiv itself."""
    venue = clean_text(citation.venue)
    if not venue or _NOT_A_VENUE.search(venue):
        return None
    volume, issue = clean_text(citation.volume), clean_text(citation.issue)
    pages = re.sub(r"\s*[–—-]+\s*", "-", clean_text(citation.pages))
    ref = venue + (f" {volume}" if volume else "") + (f"({issue})" if volume and issue else "")
    ref += f", {pages}" if pages else ""
    if citation.date and 1000 <= citation.date[0] <= 2999 and not re.search(r"\(\d{4}\)$", ref):
        ref += f" ({citation.date[0]})"
    return ref
