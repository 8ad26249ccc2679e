"""CSL-JSON and RIS of papers (a collection, a library, a search result), beside BibTeX (feed.bibtex).

What reference managers (Zotero, Mendeley, EndNote) import: each paper with its title, authors, date, abstract,
DOI, URL, venue (`journal_ref`) and the ids they have a field or a convention for: arXiv as the archive number
and an "arXiv: ID" note line, PMID and PMCID. Read back by ingest.csljson and ingest.ris, an export gives the
same papers (matched by these ids, or by title and first author for a paper without one).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

import rispy

from paperscope.feed.bibtex import to_bibtex
from paperscope.ids import ids_by_kind
from paperscope.ingest.fields import clean_text
from paperscope.models import Paper


def to_csl_json(papers: Iterable[Paper]) -> str:
    """A CSL-JSON array, one item per paper (Zotero's "Import from File" and citeproc read it)."""
    return json.dumps([_csl_item(p) for p in papers], ensure_ascii=False, indent=2) + "\n"


def to_ris(papers: Iterable[Paper]) -> str:
    """RIS records, one per paper, each from `TY  - ` to `ER  - `."""
    records = [_ris_record(p) for p in papers]
    return str(rispy.dumps(records, implementation=_RisWriter)) if records else ""


class _RisWriter(rispy.RisWriter):  # type: ignore[misc]  # rispy has no type information
    """rispy's writer without its "1." line before each record, which other readers take for a stray line."""

    def set_header(self, count: int) -> str:
        return ""


class ExportFormat(NamedTuple):
    """One way to export papers: the writer, its media type and the file name extension."""

    write: Callable[[Iterable[Paper]], str]
    media_type: str
    extension: str


EXPORT_FORMATS: dict[str, ExportFormat] = {
    "bibtex": ExportFormat(to_bibtex, "application/x-bibtex; charset=utf-8", "bib"),
    "csljson": ExportFormat(to_csl_json, "application/vnd.citationstyles.csl+json; charset=utf-8", "json"),
    "ris": ExportFormat(to_ris, "application/x-research-info-systems; charset=utf-8", "ris"),
}


def _ids(paper: Paper) -> dict[str, str]:
    return ids_by_kind(paper.refs, paper.doi)


def _csl_item(paper: Paper) -> dict[str, Any]:
    ids = _ids(paper)
    arxiv = ids.get("arxiv")
    item: dict[str, Any] = {"id": paper.id, "type": "article-journal" if paper.journal_ref else "article",
                            "title": paper.title}
    if paper.authors:
        item["author"] = [_csl_name(a) for a in paper.authors]
    if paper.published:
        item["issued"] = {"date-parts": [[paper.published.year, paper.published.month, paper.published.day]]}
    if paper.abstract:
        item["abstract"] = paper.abstract
    if paper.journal_ref:
        item["container-title"] = paper.journal_ref
    doi = paper.doi or ids.get("doi")
    if doi:
        item["DOI"] = doi
    if paper.abs_url:
        item["URL"] = paper.abs_url
    if arxiv:
        item.update({"number": f"arXiv:{arxiv}", "publisher": "arXiv"})
    for kind, field in (("pmid", "PMID"), ("pmcid", "PMCID")):
        if kind in ids:
            item[field] = ids[kind]
    note = _note_lines(paper, ids)
    if note:
        item["note"] = "\n".join(note)
    return item


def _csl_name(name: str) -> dict[str, str]:
    words = name.split()
    if len(words) < 2:
        return {"literal": name}
    return {"family": words[-1], "given": " ".join(words[:-1])}


def _ris_record(paper: Paper) -> dict[str, Any]:
    ids = _ids(paper)
    record: dict[str, Any] = {"type_of_reference": "JOUR" if paper.journal_ref else "GEN",
                              "title": clean_text(paper.title)}
    if paper.authors:
        record["authors"] = [_ris_name(a) for a in paper.authors]
    if paper.published:
        record["year"] = str(paper.published.year)
        record["date"] = paper.published.strftime("%Y/%m/%d/")
    if paper.abstract:
        record["abstract"] = clean_text(paper.abstract)
    if paper.journal_ref:
        record["secondary_title"] = clean_text(paper.journal_ref)
    doi = paper.doi or ids.get("doi")
    if doi:
        record["doi"] = doi
    if paper.abs_url:
        record["urls"] = [paper.abs_url]
    note = _note_lines(paper, ids)
    if "arxiv" in ids:
        record["accession_number"] = f"arXiv:{ids['arxiv']}"
    if note:
        record["notes"] = note
    return record


def _ris_name(name: str) -> str:
    words = clean_text(name).split()
    return f"{words[-1]}, {' '.join(words[:-1])}" if len(words) >= 2 else clean_text(name)


def _note_lines(paper: Paper, ids: dict[str, str]) -> list[str]:
    """Zotero's "Extra" convention: one "Kind: value" line per id that has no field of its own."""
    lines = [f"arXiv: {ids['arxiv']}"] if "arxiv" in ids else []
    lines += [f"PMID: {ids['pmid']}"] if "pmid" in ids else []
    lines += [f"PMCID: {ids['pmcid']}"] if "pmcid" in ids else []
    if paper.comment:
        lines.append(clean_text(paper.comment))
    return lines
