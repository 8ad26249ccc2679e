"""Crossref works: saved REST API responses, `crossref:QUERY` searches and `doi:10.NNNN/...` look-ups.

A scholarly work (article, chapter, preprint, proceedings paper, ...) becomes one paper (see docs/sources.md,
"Crossref"): the title and the JATS abstract as clean text (ingest.markup), authors in order, `subject` as
categories, the container title with volume, issue and pages as `journal_ref`, the `published` (else `issued`)
date, `is-referenced-by-count` as the citation count, and `reference` entries that carry a DOI as citation
edges. Its ids are its DOI and the DOIs of its preprint or published version (`relation`), so a preprint and
its journal version are one paper; arXiv's DataCite DOI gives the arXiv id. Records of containers (journals,
issues, volumes, proceedings, series) are not papers: each is reported, and skipped.

Network reads page with `cursor` (ROWS a request), send `mailto` and a User-Agent naming the contact address
(Crossref's polite pool), and are incremental by `from-update-date` (see ingest.cursor_paging).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any, BinaryIO
from urllib.parse import quote, unquote

import httpx

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import USER_AGENT, PoliteClient
from paperscope.ids import author_ref, canonical_id, derived_id, id_ref, normalise_doi
from paperscope.ingest.base import Entry, Item, Problem, SourceItem
from paperscope.ingest.cursor_paging import Page, harvest
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import clean_text
from paperscope.ingest.json_results import json_type, read_records, records_after
from paperscope.ingest.markup import markup_text
from paperscope.models import Paper
from paperscope.store import Store

SOURCE = "crossref"
ROWS = 200  # works per request (Crossref allows up to 1,000; smaller pages answer faster)
DEFAULT_FIRST_RUN_LIMIT = 1_000
MIN_INTERVAL = 0.2  # Crossref's public pool allows 5 requests a second
CONTAINER_TYPES = frozenset({"journal", "journal-issue", "journal-volume", "proceedings", "proceedings-series",
                             "book-series", "book-set", "report-series", "standard-series"})
PREPRINT_RELATIONS = ("is-preprint-of", "has-preprint")
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)


# --- files -------------------------------------------------------------------------------------------------

def read_crossref(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Works of a Crossref REST API response: a work list (`/works?query=`, located "item N") or one work
    (`/works/{doi}`, "item 1"). A document cut short keeps the works before the damage and reports it."""
    text = read_text(stream, origin)
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from read_records(records_after(text, "items", origin, "item"), origin, "item", from_item)
        return
    yield from items_of(document, origin)


def items_of(document: Any, origin: str) -> Iterator[Item]:
    """Works of a decoded Crossref answer: a work list, a single work, or a report of an error answer."""
    if not isinstance(document, dict):
        yield Problem(origin, "", f"expected a Crossref API response object, got {json_type(document)}")
        return
    message = document.get("message")
    if document.get("status") not in (None, "ok"):
        detail = json.dumps(message)[:200] if message is not None else "(no message)"
        yield Problem(origin, "", f"the file holds a Crossref error (status {document.get('status')!r}), not "
                      f"works: {detail}")
        return
    if document.get("message-type") == "work":
        yield from from_item(message, origin, "item 1")
        return
    if not isinstance(message, dict) or not isinstance(message.get("items"), list):
        yield Problem(origin, "", "field 'message.items' should be an array of works; save the body of a "
                      "Crossref /works answer")
        return
    for number, item in enumerate(message["items"], start=1):
        yield from from_item(item, origin, f"item {number}")


# --- one work ----------------------------------------------------------------------------------------------

def from_item(item: Any, origin: str, where: str) -> Iterator[Item]:
    """The paper of one Crossref work, with warnings; a Problem instead for a container or a work with no title."""
    def problem(message: str, rejected: bool = True) -> Problem:
        return Problem(origin, where, message, rejected=rejected)

    if not isinstance(item, dict):
        yield problem(f"expected a work object, got {json_type(item)}; remove or fix this element")
        return
    doi = normalise_doi(item["DOI"]) if isinstance(item.get("DOI"), str) else None
    kind = item.get("type") if isinstance(item.get("type"), str) else None
    if kind in CONTAINER_TYPES:
        yield problem(f"a Crossref '{kind}' record ({doi or 'no DOI'}) describes a container of papers, not a "
                      "paper: skipped")
        return
    title = _title(item)
    if not title:
        yield problem(f"no title (field 'title'); every paper needs one ({doi or 'the work has no DOI'})")
        return
    refs = _refs(item, doi)
    arxiv = next((ref.removeprefix("arxiv:") for ref in refs if ref.startswith("arxiv:")), None)
    count = item.get("is-referenced-by-count")
    authors, author_ids = _authors(item.get("author"))
    paper = Paper(
        id=canonical_id(refs) or derived_id(title),
        title=title,
        abstract=markup_text(item.get("abstract") if isinstance(item.get("abstract"), str) else None),
        authors=authors,
        author_ids=author_ids,
        categories=list(dict.fromkeys(clean_text(s) for s in _strings(item.get("subject")) if clean_text(s))),
        published=_date(item.get("published")) or _date(item.get("issued")),
        abs_url=f"https://doi.org/{doi}" if doi else _url(item.get("URL")),
        pdf_url=_pdf(item.get("link")),
        doi=doi if doi and not _ARXIV_DOI.match(doi) else None,
        journal_ref=_venue(item),
        sources=[SOURCE],
        ids=refs,
        citation_count=count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None,
        references=_references(item.get("reference")),
    )
    if arxiv and not paper.abs_url:
        paper.abs_url = f"https://arxiv.org/abs/{arxiv}"
    yield Entry(origin, where, paper)


def _title(item: dict[str, Any]) -> str:
    titles = [markup_text(t) for t in _strings(item.get("title"))]
    return next((t for t in titles if t), "")


def _refs(item: dict[str, Any], doi: str | None) -> list[str]:
    """The work's DOI, the DOIs of its preprint or published version, and arXiv ids behind arXiv DOIs."""
    dois = {doi} if doi else set()
    relation = item.get("relation") if isinstance(item.get("relation"), dict) else {}
    assert isinstance(relation, dict)
    for name in PREPRINT_RELATIONS:
        for related in relation.get(name) or [] if isinstance(relation.get(name), list) else []:
            if (isinstance(related, dict) and str(related.get("id-type", "")).lower() == "doi"
                    and isinstance(related.get("id"), str) and (other := normalise_doi(related["id"]))):
                dois.add(other)
    refs = {f"doi:{value}" for value in dois}
    for value in dois:
        if (match := _ARXIV_DOI.match(value)) and (arxiv := id_ref("arxiv", match[1])):
            refs.add(arxiv)
    return sorted(refs)


def _authors(value: object) -> tuple[list[str], list[list[str]]]:
    """Names in order ("Given Family", or the name of an organisation author), and each author's ORCID as
    `author_ids`."""
    if not isinstance(value, list):
        return [], []
    names: list[str] = []
    ids: list[list[str]] = []
    for author in value:
        if not isinstance(author, dict):
            continue
        parts = [author.get("given"), author.get("family")]
        name = clean_text(" ".join(p for p in parts if isinstance(p, str))) or clean_text(
            author.get("name") if isinstance(author.get("name"), str) else "")
        if name:
            names.append(markup_text(name) if "<" in name or "&" in name else name)
            orcid = author_ref("orcid", author["ORCID"]) if isinstance(author.get("ORCID"), str) else None
            ids.append([orcid] if orcid else [])
    return names, ids if any(ids) else []


def _date(value: object) -> dt.date | None:
    """The date of Crossref's `{"date-parts": [[YYYY, MM, DD]]}` (month and day optional), or None."""
    parts = value.get("date-parts") if isinstance(value, dict) else None
    first = parts[0] if isinstance(parts, list) and parts and isinstance(parts[0], list) else []
    numbers = [p for p in first[:3] if isinstance(p, int) and not isinstance(p, bool)]
    if not numbers or len(numbers) != len(first[:3]):
        return None
    year, month, day = (numbers + [1, 1])[:3]
    try:
        return dt.date(year, month, day)
    except (ValueError, OverflowError):  # a month 13, or a year past what a C int holds
        return None


def _venue(item: dict[str, Any]) -> str | None:
    """The container title with volume, issue, pages and year ("PeerJ 10:e14276 (2022)")."""
    container = next((markup_text(t) for t in _strings(item.get("container-title")) if markup_text(t)), None)
    if not container:
        return None
    volume, issue = _plain(item.get("volume")), _plain(item.get("issue"))
    pages = _plain(item.get("page")) or _plain(item.get("article-number"))
    venue = container
    if volume:
        venue += f" {volume}" + (f"({issue})" if issue else "")
    if pages:
        venue += (":" if volume else ", ") + pages
    date = _date(item.get("published")) or _date(item.get("issued"))
    return venue + (f" ({date.year})" if date else "")


def _references(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    refs = (id_ref("doi", entry["DOI"]) for entry in value
            if isinstance(entry, dict) and isinstance(entry.get("DOI"), str))
    return list(dict.fromkeys(ref for ref in refs if ref))


def _pdf(links: object) -> str | None:
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("content-type") == "application/pdf":
            return _url(link.get("URL"))
    return None


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _plain(value: object) -> str:
    return clean_text(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""


def _url(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip().startswith(("http://", "https://")) else None


# --- network -----------------------------------------------------------------------------------------------

def crossref_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`crossref:QUERY`: a bibliographic search of Crossref's works, incremental and resumable.

    Raises InputError at once for an empty query; SourceError when Crossref refuses it, OfflineError offline.
    """
    query = spec.strip()
    if not query:
        raise InputError("crossref: needs a query, e.g. crossref:ecological forecasting; a single work is "
                         "doi:10.NNNN/SUFFIX.")
    key = f"{SOURCE}:{query}"
    return _search(key, query, store, settings, limit)


def _search(key: str, query: str, store: Store, settings: Settings, limit: int | None) -> Iterator[SourceItem]:
    with _client(settings) as client:
        def fetch(cursor: str, since: str | None, size: int) -> Page:
            params: dict[str, Any] = {"query": query, "rows": size, "cursor": cursor, **_mailto(settings)}
            if since:
                params["filter"] = f"from-update-date:{since}"
            response = client.get(f"{settings.crossref_api_url.rstrip('/')}/works", params=params)
            document = _decode(response)
            message = document.get("message")
            if not isinstance(message, dict) or not isinstance(message.get("items"), list):
                raise SourceError(f"Crossref answered {response.url} without a list of works; check "
                                  "PAPERSCOPE_CROSSREF_API_URL.")
            cursor_next = message.get("next-cursor")
            total = message.get("total-results")
            return Page(list(items_of(document, key)), len(message["items"]),
                        cursor_next if isinstance(cursor_next, str) and cursor_next else None,
                        total if isinstance(total, int) else None)

        yield from harvest(key, store, fetch, page_size=ROWS, limit=limit, first_run_limit=DEFAULT_FIRST_RUN_LIMIT)


def doi_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`doi:10.NNNN/SUFFIX`: the Crossref record of one DOI, in any spelling (a doi.org URL, upper case, ...).

    Raises InputError at once when the spec is not a DOI; SourceError when Crossref has no record of it.
    """
    text = spec.strip()
    doi = normalise_doi(unquote(text) if "%" in text else text)
    if doi is None:
        raise InputError(f"'doi:{text}' is not a DOI; write one as doi:10.1038/nature12373 (a https://doi.org/ "
                         "URL works too).")
    return _look_up(doi, settings)


def _look_up(doi: str, settings: Settings) -> Iterator[SourceItem]:
    origin = f"doi:{doi}"
    url = f"{settings.crossref_api_url.rstrip('/')}/works/{quote(doi, safe='/')}"
    with _client(settings) as client:
        try:
            response = client.get(url, params=_mailto(settings) or None)
        except SourceError as exc:
            if isinstance(exc.response, httpx.Response) and exc.response.status_code == 404:
                raise SourceError(f"Crossref has no record of DOI {doi}. Check the DOI; a DOI registered elsewhere "
                                  "(DataCite: arXiv, Zenodo, datasets) is not in Crossref.") from None
            raise
    yield from items_of(_decode(response), origin)


def _client(settings: Settings) -> PoliteClient:
    agent = f"{USER_AGENT} (mailto:{settings.contact_email})" if settings.contact_email else USER_AGENT
    return PoliteClient(settings, min_interval=MIN_INTERVAL, name="Crossref", headers={"User-Agent": agent})


def _mailto(settings: Settings) -> dict[str, str]:
    return {"mailto": settings.contact_email} if settings.contact_email else {}


def _decode(response: httpx.Response) -> dict[str, Any]:
    try:
        document = json.loads(response.content)
    except ValueError:
        raise SourceError(f"Crossref answered {response.url} with something that is not JSON "
                          f"({response.content[:80]!r}); check PAPERSCOPE_CROSSREF_API_URL or try again later "
                          "(a search resumes from this page).") from None
    if not isinstance(document, dict):
        raise SourceError(f"Crossref answered {response.url} with {json_type(document)}, not a works response; "
                          "check PAPERSCOPE_CROSSREF_API_URL.")
    return document
