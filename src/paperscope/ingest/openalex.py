"""OpenAlex works: saved API responses, the snapshot's JSON Lines, and `openalex:QUERY` / `openalex:filter:FILTER`.

A work becomes one paper (see docs/sources.md, "OpenAlex"): the title, the abstract rebuilt from
`abstract_inverted_index`, authors' display names in order, `publication_date`, topics (primary first; the
deprecated `concepts` only where a work has no topics) as categories, the venue of its published location as
`journal_ref`, `cited_by_count` as the citation count, `referenced_works` as citation edges, and every id:
OpenAlex, DOI, PMID, PMCID, and the arXiv id where a location (or arXiv's DataCite DOI) gives one, so a work
with an arXiv location is one paper with the arXiv record.

Network reads page with `cursor` (`per-page` PAGE_SIZE), send `mailto` (OpenAlex's polite pool) and the API key
when one is set, and are incremental by `from_updated_date` (see ingest.cursor_paging).
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any, BinaryIO

import httpx

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient
from paperscope.ids import author_ref, canonical_id, derived_id, find_arxiv_id, id_ref
from paperscope.ingest.base import Entry, Item, Problem, SourceItem
from paperscope.ingest.cursor_paging import Page, harvest
from paperscope.ingest.detect import read_text
from paperscope.ingest.fields import arxiv_links, clean_text, parse_date
from paperscope.ingest.json_results import json_type, read_records, records_after
from paperscope.ingest.markup import markup_text
from paperscope.ingest.validate import MAX_CHARS
from paperscope.models import Paper
from paperscope.store import Store

SOURCE = "openalex"
PAGE_SIZE = 100  # works per request; OpenAlex allows up to 200 on some plans, 100 on all
DEFAULT_FIRST_RUN_LIMIT = 1_000
MIN_INTERVAL = 0.1  # OpenAlex allows 10 requests a second
MAX_CATEGORY_CHARS = 64  # a stored category's width
MAX_ABSTRACT_CHARS = MAX_CHARS["abstract"]
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.(.+)$", re.IGNORECASE)
_PMID_URL = re.compile(r"(\d+)/?$")
_PMCID_URL = re.compile(r"(PMC\d+)/?$", re.IGNORECASE)
_VENUE_TYPES = frozenset({"journal", "conference", "book series", "ebook platform"})  # not repositories, indexes


# --- files -------------------------------------------------------------------------------------------------

def read_openalex(stream: BinaryIO, origin: str) -> Iterator[Item]:
    """Works from an OpenAlex works API response (`{"meta", "results": [...]}`, located "work N"), a single work,
    or the snapshot's JSON Lines (one work a line, plain or gzip, located "line N").

    A document cut short keeps the works before the damage; a gzip snapshot cut short keeps the lines before it.
    Both report the damage as a Problem.
    """
    first = _first_line(stream, origin)
    if first is None:
        yield Problem(origin, "", "the file is empty; expected an OpenAlex works API response or snapshot lines")
        return
    number, line = first
    try:
        value = json.loads(line)
    except (ValueError, UnicodeDecodeError):
        value = None
    if isinstance(value, dict) and "results" not in value and "meta" not in value:
        yield from _read_lines(stream, origin, number, line)
        return
    rest = read_text(stream, origin)
    text = line.decode("utf-8-sig", errors="replace") + rest
    yield from read_works_document(text, origin)


def read_works_document(text: str, origin: str) -> Iterator[Item]:
    """Works of one JSON document: an API response, or a single work."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        yield from read_records(records_after(text, "results", origin, "work"), origin, "work", from_work)
        return
    yield from works_of(document, origin)


def works_of(document: Any, origin: str) -> Iterator[Item]:
    """Works of a decoded JSON document: an API response, an error answer, or a single work."""
    if isinstance(document, dict) and "results" in document:
        results = document["results"]
        if not isinstance(results, list):
            yield Problem(origin, "", f"field 'results' should be an array of works, got {json_type(results)}")
            return
        for number, work in enumerate(results, start=1):
            yield from from_work(work, origin, f"work {number}")
    elif isinstance(document, dict) and "error" in document:
        yield Problem(origin, "", f"the file holds an OpenAlex error, not works: "
                      f"{clean_text(document.get('message') or document['error'])[:200]}")
    else:
        yield from from_work(document, origin, "work 1")


def _first_line(stream: BinaryIO, origin: str) -> tuple[int, bytes] | None:
    number = 0
    try:
        for line in stream:
            number += 1
            if line.strip():
                return number, line
    except (EOFError, OSError, zlib.error) as exc:
        raise InputError(f"{origin}: the compressed file is damaged or truncated before its first work ({exc}); "
                         "download it again.") from None
    return None


def _read_lines(stream: BinaryIO, origin: str, number: int, line: bytes) -> Iterator[Item]:
    yield from _read_line(line, origin, number)
    try:
        for line in stream:
            number += 1
            if line.strip():
                yield from _read_line(line, origin, number)
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as exc:
        yield Problem(origin, f"line {number + 1}", f"the compressed file is damaged or truncated after line "
                      f"{number} ({exc}); the works before it were read. Download the snapshot file again.")


def _read_line(line: bytes, origin: str, number: int) -> Iterator[Item]:
    where = f"line {number}"
    try:
        work = json.loads(line)
    except UnicodeDecodeError:
        yield Problem(origin, where, "the line is not UTF-8 text; the snapshot file is damaged")
        return
    except json.JSONDecodeError as exc:
        yield Problem(origin, where, f"the line is not valid JSON ({exc.msg} at column {exc.colno}); each line "
                      "of an OpenAlex snapshot file is one work object")
        return
    yield from from_work(work, origin, where)


# --- one work ----------------------------------------------------------------------------------------------

def from_work(work: Any, origin: str, where: str) -> Iterator[Item]:
    """The paper of one OpenAlex work object, with warnings; a Problem instead when it cannot be one."""
    def problem(message: str, rejected: bool = True) -> Problem:
        return Problem(origin, where, message, rejected=rejected)

    if not isinstance(work, dict):
        yield problem(f"expected a work object, got {json_type(work)}; remove or fix this element")
        return
    title = markup_text(_text(work.get("title")) or _text(work.get("display_name")))
    if not title:
        yield problem(f"no title (field 'title'); every paper needs one ({_work_id(work) or 'the work has no id'})")
        return
    warnings: list[Problem] = []
    refs, arxiv, doi = _refs(work)
    published = None
    try:
        published = parse_date(_text(work.get("publication_date")) or None)
    except ValueError as exc:
        warnings.append(problem(f"field 'publication_date': {exc}; the paper is kept without a date", False))
    abstract, abstract_problem = rebuild_abstract(work.get("abstract_inverted_index"))
    if abstract_problem:
        warnings.append(problem(f"field 'abstract_inverted_index': {abstract_problem}; the paper is kept "
                                "without an abstract", False))
    if len(abstract) > MAX_ABSTRACT_CHARS:
        warnings.append(problem(f"the abstract is {len(abstract):,} characters long (OpenAlex indexes the full "
                                f"text of some works); its first {MAX_ABSTRACT_CHARS:,} are kept", False))
        abstract = abstract[:MAX_ABSTRACT_CHARS - 1].rsplit(" ", 1)[0] + "…"
    count = work.get("cited_by_count")
    abs_url, pdf_url = _links(work, arxiv)
    authors, author_ids = _authors(work.get("authorships"))
    paper = Paper(
        id=canonical_id(refs) or derived_id(title),
        title=title,
        abstract=abstract,
        authors=authors,
        author_ids=author_ids,
        categories=_categories(work),
        published=published,
        abs_url=abs_url,
        pdf_url=pdf_url,
        doi=doi,
        journal_ref=_venue(work),
        sources=[SOURCE],
        ids=refs,
        citation_count=count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None,
        references=_referenced(work.get("referenced_works")),
    )
    yield Entry(origin, where, paper)
    yield from warnings


def rebuild_abstract(index: object) -> tuple[str, str | None]:
    """The abstract text of an `abstract_inverted_index` ({word: [positions]}), and what was wrong with it."""
    if index is None or index == {}:
        return "", None
    if not isinstance(index, dict):
        return "", f"expected an object of words and positions, got {json_type(index)}"
    placed: dict[int, str] = {}
    for word, positions in index.items():
        if not isinstance(positions, list) or not all(
                isinstance(p, int) and not isinstance(p, bool) and 0 <= p < 100_000 for p in positions):
            return "", f"the positions of {word[:40]!r} are not a list of word positions"
        for position in positions:
            placed[position] = word
    text = " ".join(placed[position] for position in sorted(placed))
    return markup_text(text) if "<" in text or "&" in text else clean_text(text), None


def _refs(work: dict[str, Any]) -> tuple[list[str], str | None, str | None]:
    """Every id of a work as references, its arXiv id, and its published-version DOI (not arXiv's own DOI)."""
    ids = work.get("ids") if isinstance(work.get("ids"), dict) else {}
    assert isinstance(ids, dict)
    refs: set[str] = set()
    for kind, raw in (("openalex", work.get("id")), ("openalex", ids.get("openalex")),
                      ("doi", work.get("doi")), ("doi", ids.get("doi"))):
        if isinstance(raw, str) and (ref := id_ref(kind, raw)):
            refs.add(ref)
    for kind, pattern, raw in (("pmid", _PMID_URL, ids.get("pmid")), ("pmcid", _PMCID_URL, ids.get("pmcid"))):
        if isinstance(raw, str) and (match := pattern.search(raw.strip())) and (ref := id_ref(kind, match[1])):
            refs.add(ref)
    arxiv = _arxiv_id(work, refs)
    if arxiv:
        refs.add(f"arxiv:{arxiv}")
    dois = sorted(ref.removeprefix("doi:") for ref in refs if ref.startswith("doi:"))
    published = next((doi for doi in dois if not _ARXIV_DOI.match(doi)), None)
    return sorted(refs), arxiv, published


def _arxiv_id(work: dict[str, Any], refs: set[str]) -> str | None:
    """The arXiv id of a work: from arXiv's DataCite DOI, else from a location's landing page or PDF."""
    for ref in sorted(refs):
        if ref.startswith("doi:") and (match := _ARXIV_DOI.match(ref[4:])):
            ref_arxiv = id_ref("arxiv", match[1])
            if ref_arxiv:
                return ref_arxiv.removeprefix("arxiv:")
    for location in _locations(work):
        for key in ("landing_page_url", "pdf_url"):
            url = location.get(key)
            if isinstance(url, str) and "arxiv.org/" in url.lower() and (found := find_arxiv_id(url)):
                return found[0]
    return None


def _locations(work: dict[str, Any]) -> list[dict[str, Any]]:
    found = [work.get("primary_location"), *_list(work.get("locations")), work.get("best_oa_location")]
    return [location for location in found if isinstance(location, dict)]


def _source(location: dict[str, Any]) -> dict[str, Any]:
    source = location.get("source")
    return source if isinstance(source, dict) else {}


def _venue(work: dict[str, Any]) -> str | None:
    """Where the work was published: the first journal, conference or book source of its locations, with volume, issue,
    pages and year where OpenAlex gives them ("Geospatial Health 9(1):1-10 (2014)")."""
    source = next((_source(location) for location in _locations(work)
                   if _text(_source(location).get("display_name"))
                   and _text(_source(location).get("type")) in _VENUE_TYPES), None)
    if not source:
        return None
    venue = clean_text(source["display_name"])
    biblio = work.get("biblio") if isinstance(work.get("biblio"), dict) else {}
    assert isinstance(biblio, dict)
    volume, issue = _text(biblio.get("volume")), _text(biblio.get("issue"))
    first, last = _text(biblio.get("first_page")), _text(biblio.get("last_page"))
    if volume:
        venue += f" {volume}" + (f"({issue})" if issue else "")
    if first:
        venue += (":" if volume else ", ") + first + (f"-{last}" if last and last != first else "")
    year = work.get("publication_year")
    if isinstance(year, int) and not isinstance(year, bool):
        venue += f" ({year})"
    return venue


def _links(work: dict[str, Any], arxiv: str | None) -> tuple[str | None, str | None]:
    if arxiv:
        return arxiv_links(arxiv)
    primary = work.get("primary_location") if isinstance(work.get("primary_location"), dict) else {}
    assert isinstance(primary, dict)
    best = work.get("best_oa_location") if isinstance(work.get("best_oa_location"), dict) else {}
    assert isinstance(best, dict)
    landing = _url(primary.get("landing_page_url")) or _url(work.get("doi"))
    return landing, _url(primary.get("pdf_url")) or _url(best.get("pdf_url"))


def _authors(authorships: object) -> tuple[list[str], list[list[str]]]:
    """Author display names in order (the raw name where OpenAlex has no author record), and each author's ids
    (OpenAlex author id, ORCID) as `author_ids`."""
    if not isinstance(authorships, list):
        return [], []
    names: list[str] = []
    ids: list[list[str]] = []
    for authorship in authorships:
        if not isinstance(authorship, dict):
            continue
        author = authorship.get("author") if isinstance(authorship.get("author"), dict) else {}
        assert isinstance(author, dict)
        name = clean_text(_text(author.get("display_name")) or _text(authorship.get("raw_author_name")))
        if name:
            names.append(name)
            refs = [author_ref("openalex", author.get("id") or ""), author_ref("orcid", author.get("orcid") or "")]
            ids.append([ref for ref in refs if ref])
    return names, ids if any(ids) else []


def _categories(work: dict[str, Any]) -> list[str]:
    """Topics, primary first, then the primary topic's subfield and field; `concepts` where there are no topics."""
    primary = work.get("primary_topic") if isinstance(work.get("primary_topic"), dict) else None
    topics = [t for t in _list(work.get("topics")) if isinstance(t, dict)]
    names: list[str] = []
    if primary is not None:
        topics = [primary, *topics]
    for topic in topics:
        names.append(_text(topic.get("display_name")))
    if primary is not None:
        for level in ("subfield", "field"):
            part = primary.get(level)
            if isinstance(part, dict):
                names.append(_text(part.get("display_name")))
    if not topics:
        names += [_text(c.get("display_name")) for c in _list(work.get("concepts")) if isinstance(c, dict)]
    return list(dict.fromkeys(_category(name) for name in names if clean_text(name)))


def _category(name: str) -> str:
    """A category name short enough to store: long topic names are cut at a word, the same way every time."""
    name = clean_text(name)
    if len(name) <= MAX_CATEGORY_CHARS:
        return name
    return name[:MAX_CATEGORY_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:-") + "…"


def _referenced(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    refs = (id_ref("openalex", item) for item in value if isinstance(item, str))
    return list(dict.fromkeys(ref for ref in refs if ref))


def _work_id(work: dict[str, Any]) -> str | None:
    raw = work.get("id")
    return id_ref("openalex", raw) if isinstance(raw, str) else None


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _url(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip().startswith(("http://", "https://")) else None


# --- network -----------------------------------------------------------------------------------------------

def openalex_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """`openalex:QUERY` (full-text search) or `openalex:filter:FILTER` (a works filter) as a network source.

    Raises InputError at once for an empty query; SourceError when OpenAlex refuses it, OfflineError offline.
    """
    params = _query_params(spec)
    key = f"{SOURCE}:{spec.strip()}"
    return _harvest(key, params, store, settings, limit)


def _query_params(spec: str) -> dict[str, str]:
    text = spec.strip()
    usage = ("write openalex:QUERY for a full-text search (e.g. openalex:protein folding) or openalex:filter:FILTER "
             "for a works filter (e.g. openalex:filter:primary_topic.id:T10017,from_publication_date:2026-01-01)")
    if text.lower().startswith("filter:"):
        works_filter = text[len("filter:"):].strip()
        if not works_filter or ":" not in works_filter:
            raise InputError(f"'openalex:{text}' names no filter; {usage}.")
        return {"filter": works_filter}
    if not text:
        raise InputError(f"openalex: needs a query; {usage}.")
    return {"search": text}


def _harvest(key: str, params: dict[str, str], store: Store, settings: Settings,
             limit: int | None) -> Iterator[SourceItem]:
    with _Client(settings, min_interval=MIN_INTERVAL, name="OpenAlex") as client:
        def fetch(cursor: str, since: str | None, size: int) -> Page:
            query: dict[str, Any] = {**params, "per-page": size, "cursor": cursor}
            if since:
                query["filter"] = ",".join(f for f in (params.get("filter"), f"from_updated_date:{since}") if f)
            if settings.contact_email:
                query["mailto"] = settings.contact_email
            if settings.openalex_api_key:
                query["api_key"] = settings.openalex_api_key
            response = client.get(f"{settings.openalex_api_url.rstrip('/')}/works", params=query)
            return _page(response, key)

        yield from harvest(key, store, fetch, page_size=PAGE_SIZE, limit=limit,
                           first_run_limit=DEFAULT_FIRST_RUN_LIMIT)


def _page(response: httpx.Response, origin: str) -> Page:
    try:
        document = json.loads(response.content)
    except ValueError:
        raise SourceError(f"OpenAlex answered {_shown(response.url)} with something that is not JSON "
                          f"({response.content[:80]!r}); check PAPERSCOPE_OPENALEX_API_URL or try again later "
                          "(the run resumes from this page).") from None
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise SourceError(f"OpenAlex answered {_shown(response.url)} without a list of works; check "
                          "PAPERSCOPE_OPENALEX_API_URL.")
    meta = document.get("meta") if isinstance(document.get("meta"), dict) else {}
    assert isinstance(meta, dict)
    items = list(works_of(document, origin))
    cursor = meta.get("next_cursor")
    total = meta.get("count")
    return Page(items, len(document["results"]), cursor if isinstance(cursor, str) and cursor else None,
                total if isinstance(total, int) else None)


def _shown(url: object) -> str:
    """A request URL as messages show it: without the API key."""
    return re.sub(r"(api_key=)[^&]+", r"\1…", str(url))


class _Client(PoliteClient):
    """The polite client, with the API key left out of its messages."""

    def refused_error(self, response: httpx.Response) -> SourceError:
        detail = response.text[:300].strip()
        try:
            answer = json.loads(response.content)
            if isinstance(answer, dict):
                detail = clean_text(answer.get("message") or answer.get("error") or detail)[:300]
        except ValueError:
            pass
        return SourceError(f"OpenAlex refused the request {_shown(response.url)} with HTTP {response.status_code}: "
                           f"{detail}", response=response)

    def gave_up_error(self, url: str, attempts: int, last_error: str) -> SourceError:
        return super().gave_up_error(_shown(url), attempts, last_error)

    def offline_error(self, url: str, exc: httpx.HTTPError) -> SourceError:
        return super().offline_error(_shown(url), exc)

