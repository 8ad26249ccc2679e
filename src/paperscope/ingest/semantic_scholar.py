"""Semantic Scholar Graph API: paper search, batch look-ups, references and citations, from saved responses
or from the live API (`s2:QUERY`, `s2:id:ID[,ID...]`, `s2:references:ID`, `s2:citations:ID`).

Saved responses read as files (the format is told by a `"paperId"`, `"citedPaper"` or `"citingPaper"` key):

* a search answer `{"total", "offset", "next", "data": [paper, ...]}`;
* a batch answer `[paper, null, ...]` (null where the API knows no paper for the id asked);
* a references or citations answer `{"offset", "next", "data": [{"citedPaper": paper, "contexts", ...}]}`
  (`citingPaper` for citations). The answer does not say which paper it is the references of, so a file
  gives the listed papers without citation edges; the network source, which knows, stores the edges.

Field mapping (see docs/sources.md): `paperId` -> an `s2:` id; `externalIds` CorpusId, DOI, ArXiv, PubMed and
PubMedCentral -> `s2corpus:`, `doi:`, `arxiv:`, `pmid:`, `pmcid:` ids (others are ignored); `fieldsOfStudy`,
then the `s2FieldsOfStudy` categories not among them -> categories; `journal` (else `venue`) -> journal_ref;
`citationCount` -> citation_count; `openAccessPdf.url` -> pdf_url; `url` -> abs_url (arXiv's links for a paper
with an arXiv id, as every arXiv source gives them).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from paperscope.ids import author_ref, canonical_id, derived_id, id_ref
from paperscope.ingest.base import Entry, Item, Problem
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import arxiv_links, clean_text, optional_text, parse_date
from paperscope.ingest.json_results import json_type
from paperscope.models import Paper

SOURCE = "s2"
#: The fields asked of the API: those this module reads.
PAPER_FIELDS = ("paperId,externalIds,url,title,abstract,venue,year,publicationDate,journal,authors,"
                "citationCount,openAccessPdf,fieldsOfStudy,s2FieldsOfStudy")
# externalIds keys -> paperscope id kinds; the others (MAG, DBLP, ACL, ...) are not ids paperscope keeps.
EXTERNAL_ID_KINDS = {"CorpusId": "s2corpus", "DOI": "doi", "ArXiv": "arxiv", "PubMed": "pmid",
                     "PubMedCentral": "pmcid"}
# A paper's arXiv DOI (DataCite's 10.48550/arXiv.ID) is one of its ids but not where it was published.
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.", re.IGNORECASE)
_ARXIV_VENUES = frozenset({"arxiv", "arxiv.org"})
_DATA_ARRAY = re.compile(r'"data"\s*:\s*\[')
_WHITESPACE = re.compile(r"[ \t\r\n]*")
EDGE_KEYS = {"citedPaper": "references", "citingPaper": "citations"}
_Report = Callable[[str, bool], Problem]  # (message, rejected) -> the Problem located at the current paper


def read_s2(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Papers from a saved Semantic Scholar answer (search, batch, references or citations); each is located
    as "paper N". A damaged document yields the papers before the damage, then a Problem naming the line and
    column. Raises InputError if the bytes are not UTF-8/UTF-16 text."""
    text = read_text(stream, origin)
    edge_key: str | None = None
    for number, value in _document_items(text, origin):
        if isinstance(value, Problem):
            yield value
            continue
        where = f"paper {number}"
        if isinstance(value, dict) and (key := next((k for k in EDGE_KEYS if k in value), None)):
            if edge_key is None:
                edge_key = key
                yield Problem(origin, "", (
                    f"a saved {EDGE_KEYS[key]} answer does not say which paper it lists the {EDGE_KEYS[key]} of, "
                    f"so its papers are stored without citation edges; ingest s2:{EDGE_KEYS[key]}:ID to store "
                    "them with the edges"), rejected=False)
            value = value[key]
        yield from parse_paper(value, origin, where)


def parse_paper(value: Any, origin: str, where: str, *, references: list[str] | None = None,
                cited_by: list[str] | None = None) -> Iterator[Item]:
    """One Semantic Scholar paper object as an Entry (with the given citation edges), or the Problem that
    rejects it; warnings about single fields follow the entry."""
    def problem(message: str, rejected: bool = True) -> Problem:
        return Problem(origin, where, message, rejected=rejected)

    if value is None:
        yield problem("null instead of a paper: Semantic Scholar answers so for an id it does not know; check the "
                      "id asked at this position (S2 paper id, CorpusId:N, DOI:10..., ARXIV:..., PMID:N)")
        return
    if not isinstance(value, dict):
        yield problem(f"expected a JSON object (a Semantic Scholar paper), got {json_type(value)}; "
                      "remove or fix this element")
        return
    title = clean_text(value.get("title")) if isinstance(value.get("title"), str) else ""
    if not title:
        yield problem("no title (field 'title'); every paper needs one")
        return
    warnings: list[Problem] = []
    refs = _refs(value, warnings, problem)
    paper_id = canonical_id(refs) or derived_id(title)
    arxiv_id = next((ref.removeprefix("arxiv:") for ref in refs if ref.startswith("arxiv:")), None)
    abs_url: str | None
    pdf_url: str | None
    if arxiv_id:
        abs_url, pdf_url = arxiv_links(arxiv_id)
    else:
        abs_url, pdf_url = _text(value.get("url")), _open_access_pdf(value.get("openAccessPdf"))
    dois = sorted(ref.removeprefix("doi:") for ref in refs if ref.startswith("doi:"))
    published_dois = [doi for doi in dois if not _ARXIV_DOI.match(doi)]
    authors, author_ids = _authors(value.get("authors"))
    record = Paper(
        id=paper_id,
        title=title,
        abstract=clean_text(value.get("abstract")) if isinstance(value.get("abstract"), str) else "",
        authors=authors,
        author_ids=author_ids,
        categories=_categories(value),
        published=_published(value, warnings, problem),
        abs_url=abs_url,
        pdf_url=pdf_url,
        doi=published_dois[0] if published_dois else None,
        journal_ref=_journal_ref(value),
        sources=[SOURCE],
        ids=sorted(refs),
        citation_count=_count(value, "citationCount", warnings, problem),
        references=list(references or []),
        cited_by=list(cited_by or []),
    )
    yield Entry(origin, where, record)
    yield from warnings


def _refs(value: dict[str, Any], warnings: list[Problem], problem: _Report) -> set[str]:
    refs: set[str] = set()
    paper_id = value.get("paperId")
    if paper_id is not None:
        ref = id_ref("s2", paper_id) if isinstance(paper_id, str) else None
        if ref is None:
            warnings.append(problem(f"field 'paperId' is {str(paper_id)[:60]!r}, not a Semantic Scholar paper id "
                                    "(40 hexadecimal digits); it was left out", False))
        else:
            refs.add(ref)
    external = value.get("externalIds")
    if external is not None and not isinstance(external, dict):
        warnings.append(problem(f"field 'externalIds' should be an object, got {json_type(external)}; "
                                "it was left out", False))
        external = {}
    external = dict(external or {})
    if "CorpusId" not in external and value.get("corpusId") is not None:
        external["CorpusId"] = value["corpusId"]
    for key, kind in EXTERNAL_ID_KINDS.items():
        raw = external.get(key)
        if raw is None or raw == "":
            continue
        ref = id_ref(kind, raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else None
        if ref is None:
            warnings.append(problem(f"field 'externalIds.{key}' is {str(raw)[:60]!r}, which is not a valid "
                                    f"{key} id; it was left out", False))
        else:
            refs.add(ref)
    return refs


def _published(value: dict[str, Any], warnings: list[Problem], problem: _Report) -> dt.date | None:
    """`publicationDate`, else 1 January of `year` (the year is all Semantic Scholar knows of some papers)."""
    raw = value.get("publicationDate")
    if raw is not None:
        try:
            if not isinstance(raw, str):
                raise ValueError(f"{raw!r} is not a date; write it as YYYY-MM-DD (ISO 8601)")
            return parse_date(raw)
        except ValueError as exc:
            warnings.append(problem(f"field 'publicationDate': {exc}; the year is used instead", False))
    year = value.get("year")
    if isinstance(year, int) and not isinstance(year, bool) and 1 <= year <= 9999:
        return dt.date(year, 1, 1)
    if year is not None:
        warnings.append(problem(f"field 'year' is {str(year)[:20]!r}, not a year; the paper is kept without "
                                "a publication date", False))
    return None


def _count(value: dict[str, Any], name: str, warnings: list[Problem], problem: _Report) -> int | None:
    count = value.get(name)
    if count is None or (isinstance(count, int) and not isinstance(count, bool) and 0 <= count < 2**31):
        return count
    warnings.append(problem(f"field '{name}' should be a whole number, got {str(count)[:20]!r}; it was left out",
                            False))
    return None


def _categories(value: dict[str, Any]) -> list[str]:
    """`fieldsOfStudy` (Semantic Scholar's fields from the paper's sources), then the fields its own classifier
    adds in `s2FieldsOfStudy`, in order, each once."""
    names: list[str] = []
    fields = value.get("fieldsOfStudy")
    if isinstance(fields, list):
        names.extend(clean_text(name) for name in fields if isinstance(name, str))
    s2_fields = value.get("s2FieldsOfStudy")
    if isinstance(s2_fields, list):
        names.extend(clean_text(item.get("category")) for item in s2_fields
                     if isinstance(item, dict) and isinstance(item.get("category"), str))
    return list(dict.fromkeys(name[:64] for name in names if name))


def _journal_ref(value: dict[str, Any]) -> str | None:
    """"Journal volume, pages" from `journal`, else the `venue`; arXiv itself is not a journal."""
    journal = value.get("journal")
    if isinstance(journal, dict):
        name = _text(journal.get("name"))
        if name and name.lower() not in _ARXIV_VENUES:
            volume = _text(journal.get("volume"))
            pages = _text(journal.get("pages"))
            text = f"{name} {volume}" if volume else name
            return f"{text}, {pages}" if pages else text
    venue = _text(value.get("venue"))
    return venue if venue and venue.lower() not in _ARXIV_VENUES else None


def _open_access_pdf(value: object) -> str | None:
    if isinstance(value, dict):
        url = _text(value.get("url"))
        return url if url and url.startswith(("http://", "https://")) else None
    return None


def _authors(value: object) -> tuple[list[str], list[list[str]]]:
    """The authors' names in order, and each one's Semantic Scholar author id (as `author_ids`)."""
    if not isinstance(value, list):
        return [], []
    names: list[str] = []
    ids: list[list[str]] = []
    for author in value:
        name = author.get("name") if isinstance(author, dict) else author
        if isinstance(name, str) and clean_text(name):
            names.append(clean_text(name))
            author_id = author.get("authorId") if isinstance(author, dict) else None
            ref = author_ref("s2author", author_id) if isinstance(author_id, str | int) else None
            ids.append([ref] if ref else [])
    return names, ids if any(ids) else []


def _text(value: object) -> str | None:
    return optional_text(value) if isinstance(value, str) else None


# Reading the document ----------------------------------------------------------------------------------

def _document_items(text: str, origin: str) -> Iterator[tuple[int, Any]]:
    """(paper number, value) for each element of the `data` array of an answer object, or of a top-level
    (batch) array. A damaged document yields the elements before the damage, then a Problem (numbered 0)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        yield from _salvage(text, origin, exc)
        return
    if isinstance(document, dict):
        if "error" in document and "data" not in document:
            yield 0, Problem(origin, "", f"the file is a Semantic Scholar error answer "
                             f"({clean_text(document['error'])[:200]}), not papers; fetch it again")
            return
        document = document.get("data") if "data" in document else [document]
    if not isinstance(document, list):
        yield 0, Problem(origin, "", "expected a Semantic Scholar answer: an object with a 'data' array of papers, "
                         f"or an array of papers; field 'data' is {json_type(document)}")
        return
    yield from enumerate(document, start=1)


def _salvage(text: str, origin: str, error: json.JSONDecodeError) -> Iterator[tuple[int, Any]]:
    """The elements before the damage of a document that does not parse, then a Problem saying where."""
    match = _DATA_ARRAY.search(text) if not text.lstrip("\ufeff \t\r\n").startswith("[") else None
    start = match.end() if match else text.find("[") + 1
    count = 0
    pos = error.pos
    if start > 0:
        decoder = json.JSONDecoder()
        pos = _skip_space(text, start)
        while pos < len(text) and not text.startswith("]", pos):
            try:
                value, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as exc:
                pos = exc.pos
                break
            count += 1
            yield count, value
            pos = _skip_space(text, pos)
            if not text.startswith(",", pos):
                break
            pos = _skip_space(text, pos + 1)
        pos = min(pos, error.pos) if count == 0 else pos
    line = text.count("\n", 0, pos) + 1
    column = pos - text.rfind("\n", 0, pos)
    papers = "1 paper before it was" if count == 1 else f"{count} papers before it were"
    yield 0, Problem(origin, f"line {line}", f"the JSON ends early or is malformed at line {line}, column {column}; "
                     f"{papers} read. Download or save the answer again.")


def _skip_space(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos

