"""`paperscope ingest s2:...`: the Semantic Scholar Graph API (https://api.semanticscholar.org/api-docs/graph).

Forms (what follows `s2:`):

* `QUERY`: paper search (`GET /graph/v1/paper/search`), relevance order, 100 papers a page; the API serves the
  first 1,000 results of a query.
* `id:ID[,ID...]`: papers by id (`POST /graph/v1/paper/batch`, 500 ids a request), separated by commas or
  spaces (spaces in PAPERSCOPE_INGEST_SOURCES, whose commas separate sources). An ID is a Semantic Scholar
  paper id (40 hex digits), `CorpusId:N`, a DOI in any spelling, an arXiv id (`ARXIV:2201.11990` or bare),
  `PMID:N` or `PMCID:N`. An id Semantic Scholar does not know is reported; the others are stored.
* `references:ID` / `citations:ID`: the papers the paper ID cites / that cite it
  (`GET /graph/v1/paper/{ID}/references|citations`, 1,000 a page), each stored with its citation edge to or
  from ID's reference (`s2corpus:N` for `CorpusId:N`), which resolves once the paper ID is stored too.

Requests carry `x-api-key` when PAPERSCOPE_S2_API_KEY is set and are spaced by `s2_delay_seconds` (at least 1 s
without a key). A paged run yields a Checkpoint after each page, so an interrupted run resumes from the page it
reached; a completed run forgets its place, and the next run reads the source again from the start (relevance
order and citation lists have no "newer than" to continue from).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient, contact_headers
from paperscope.ids import id_ref, normalise_doi, parse_arxiv_id
from paperscope.ingest.base import Checkpoint, Problem, SourceItem
from paperscope.ingest.json_results import json_type
from paperscope.ingest.semantic_scholar import EDGE_KEYS, PAPER_FIELDS, parse_paper
from paperscope.store import Store

SEARCH_MAX_RESULTS = 1_000
"""Semantic Scholar serves at most this many results of one relevance search."""
SEARCH_PAGE_SIZE = 100
GRAPH_PAGE_SIZE = 1_000
BATCH_SIZE = 500
UNAUTHENTICATED_DELAY = 1.0
"""Semantic Scholar's limit for clients without an API key: one request per second."""
USAGE = ("Use s2:QUERY (a search), s2:id:ID[,ID...] (papers by id), s2:references:ID or s2:citations:ID, where an "
         "ID is a Semantic Scholar paper id, CorpusId:N, a DOI, an arXiv id, PMID:N or PMCID:N.")
_S2_PAPER_ID = re.compile(r"^[0-9a-fA-F]{40}$")
_PREFIXED = re.compile(r"^(corpusid|doi|arxiv|pmid|pmcid|pmc)\s*:\s*(.+)$", re.IGNORECASE)


@dataclass(frozen=True)
class PaperId:
    """An id as the API takes it (`CorpusId:1033682`) and the reference paperscope keeps (`s2corpus:1033682`)."""

    api: str
    ref: str


def parse_paper_id(text: str) -> PaperId:
    """An id of `s2:id:`, `s2:references:` or `s2:citations:`; raises InputError naming the forms accepted."""
    raw = text.strip()
    if _S2_PAPER_ID.match(raw):
        return PaperId(raw.lower(), f"s2:{raw.lower()}")
    match = _PREFIXED.match(raw)
    kind, value = (match[1].lower(), match[2].strip()) if match else ("", raw)
    ref: str | None = None
    if kind == "corpusid":
        ref = id_ref("s2corpus", value)
        api = f"CorpusId:{ref.partition(':')[2]}" if ref else ""
    elif kind == "pmid":
        ref = id_ref("pmid", value)
        api = f"PMID:{ref.partition(':')[2]}" if ref else ""
    elif kind in ("pmcid", "pmc"):
        ref = id_ref("pmcid", value)
        api = f"PMCID:{ref.partition(':')[2].removeprefix('PMC')}" if ref else ""
    elif kind == "arxiv" or (not kind and parse_arxiv_id(raw)):
        ref = id_ref("arxiv", value)
        api = f"ARXIV:{ref.partition(':')[2]}" if ref else ""
    elif doi := normalise_doi(raw):
        ref, api = f"doi:{doi}", f"DOI:{doi}"
    if ref is None:
        raise InputError(f"{raw!r} is not a paper id Semantic Scholar takes. {USAGE}")
    return PaperId(api, ref)


def s2_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """Entries, problems and checkpoints of `s2:SPEC` (see the module docstring); `limit` caps the papers read.

    Raises InputError at once for a malformed spec; the iteration raises SourceError when Semantic Scholar
    refuses a request and OfflineError when it cannot be reached."""
    text = spec.strip()
    word, colon, rest = text.partition(":")
    kind = word.lower() if colon else ""
    if kind == "id":
        ids = [parse_paper_id(raw) for raw in re.split(r"[\s,]+", rest) if raw]
        if not ids:
            raise InputError(f"s2:id: needs at least one paper id, e.g. s2:id:CorpusId:1033682,ARXIV:2201.11990. "
                             f"{USAGE}")
        return _batch_items(list(dict.fromkeys(ids)), f"s2:{text}", settings, limit)
    if kind in ("references", "citations"):
        if not rest.strip():
            raise InputError(f"s2:{kind}: needs the id of the paper, e.g. s2:{kind}:CorpusId:1033682. {USAGE}")
        return _graph_items(kind, parse_paper_id(rest), f"s2:{text}", store, settings, limit)
    if not text:
        raise InputError(f"s2: needs a query. {USAGE}")
    return _search_items(text, f"s2:{text}", store, settings, limit)


class _Api:
    """The Graph API through a PoliteClient, with Semantic Scholar's answers turned into clear errors."""

    def __init__(self, settings: Settings) -> None:
        self.base = settings.s2_api_url.rstrip("/") + "/graph/v1"
        key = settings.s2_api_key or None
        delay = settings.s2_delay_seconds if key else max(settings.s2_delay_seconds, UNAUTHENTICATED_DELAY)
        headers = {**contact_headers(settings), **({"x-api-key": key} if key else {})}
        self.has_key = key is not None
        self.client = PoliteClient(settings, min_interval=delay, name="the Semantic Scholar API", headers=headers)

    def __enter__(self) -> _Api:
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.close()

    def call(self, method: str, path: str, params: dict[str, Any], json: Any = None) -> Any:
        """The decoded JSON answer of one request."""
        url = self.base + path
        try:
            response = self.client.request(method, url, params=params, json=json)
        except SourceError as exc:
            raise self._refused(exc) from None
        try:
            return response.json()
        except ValueError:
            raise SourceError(f"The Semantic Scholar API answered {response.url} with something that is not JSON "
                              f"({response.content[:80]!r}); check PAPERSCOPE_S2_API_URL or try again later.") from None

    def _refused(self, exc: SourceError) -> SourceError:
        response = exc.response
        if not isinstance(response, httpx.Response):
            return exc
        message = _error_message(response)
        if response.status_code in (401, 403):
            hint = ("check PAPERSCOPE_S2_API_KEY" if self.has_key
                    else "the API may want a key: set PAPERSCOPE_S2_API_KEY")
            return SourceError(f"The Semantic Scholar API refused {response.url} (HTTP {response.status_code}: "
                               f"{message}); {hint}.", response=response)
        if response.status_code == 404:
            return SourceError(f"Semantic Scholar knows no such paper ({message}); check the id. {USAGE}",
                               response=response)
        return SourceError(f"The Semantic Scholar API refused {response.url} with HTTP {response.status_code}: "
                           f"{message}", response=response)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip() or "(no message)"
    if isinstance(body, dict):
        for key in ("error", "message"):
            text = body.get(key)
            if isinstance(text, str):
                return text[:200]
    return response.text[:200].strip()


def _search_items(query: str, origin: str, store: Store, settings: Settings,
                  limit: int | None) -> Iterator[SourceItem]:
    depth = min(limit or SEARCH_MAX_RESULTS, SEARCH_MAX_RESULTS)
    with _Api(settings) as api:
        yield from _paged(api, "/paper/search", {"query": query, "fields": PAPER_FIELDS}, origin, store,
                          page_size=SEARCH_PAGE_SIZE, depth=depth, unwrap=None, edge=None)
    if limit is not None and limit > SEARCH_MAX_RESULTS:
        yield Problem(origin, "", f"Semantic Scholar serves at most {SEARCH_MAX_RESULTS:,} results of one search, "
                      "so later results were not read; narrow the query", rejected=False)


def _graph_items(kind: str, paper: PaperId, origin: str, store: Store, settings: Settings,
                 limit: int | None) -> Iterator[SourceItem]:
    unwrap = "citedPaper" if kind == "references" else "citingPaper"
    assert EDGE_KEYS[unwrap] == kind
    with _Api(settings) as api:
        yield from _paged(api, f"/paper/{quote(paper.api, safe=':/')}/{kind}", {"fields": PAPER_FIELDS}, origin,
                          store, page_size=GRAPH_PAGE_SIZE, depth=limit, unwrap=unwrap, edge=(kind, paper.ref))


def _paged(api: _Api, path: str, params: dict[str, Any], key: str, store: Store, *, page_size: int,
           depth: int | None, unwrap: str | None, edge: tuple[str, str] | None) -> Iterator[SourceItem]:
    """The papers of an offset-paged answer, a Checkpoint after each page (`key` keeps where an interrupted
    run got to); at most `depth` papers counted from the first."""
    state = store.get_sync_state(key) or {}
    offset = state.get("next_offset")
    offset = offset if isinstance(offset, int) and offset >= 0 else 0
    while depth is None or offset < depth:
        size = page_size if depth is None else min(page_size, depth - offset)
        answer = api.call("GET", path, {**params, "offset": offset, "limit": size})
        data = answer.get("data") if isinstance(answer, dict) else None
        if not isinstance(data, list):
            raise SourceError(f"The Semantic Scholar API answered {api.base}{path} at offset {offset} without a "
                              "'data' array of papers; check PAPERSCOPE_S2_API_URL or try again later.")
        for number, element in enumerate(data, start=offset + 1):
            yield from _element_items(element, key, f"paper {number}", unwrap, edge)
        offset += len(data)
        following = answer.get("next")
        done = not data or not isinstance(following, int) or (depth is not None and offset >= depth)
        if isinstance(following, int) and following > offset:
            offset = following
        yield Checkpoint(key, None if done else {"next_offset": offset})
        if done:
            return
    yield Checkpoint(key, None)


def _element_items(element: Any, origin: str, where: str, unwrap: str | None,
                   edge: tuple[str, str] | None) -> Iterator[SourceItem]:
    if unwrap is not None:
        if not isinstance(element, dict) or unwrap not in element:
            yield Problem(origin, where, f"expected an object with the field '{unwrap}' (the paper), got "
                          f"{json_type(element) if not isinstance(element, dict) else 'an object without it'}; "
                          "it was left out")
            return
        element = element[unwrap]
    references = cited_by = None
    if edge is not None:
        kind, ref = edge
        references, cited_by = ([ref], None) if kind == "citations" else (None, [ref])
    yield from parse_paper(element, origin, where, references=references, cited_by=cited_by)


def _batch_items(ids: list[PaperId], origin: str, settings: Settings, limit: int | None) -> Iterator[SourceItem]:
    wanted = ids[:limit] if limit is not None else ids
    with _Api(settings) as api:
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start:start + BATCH_SIZE]
            answer = api.call("POST", "/paper/batch", {"fields": PAPER_FIELDS}, json={"ids": [i.api for i in chunk]})
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise SourceError(f"The Semantic Scholar API answered a batch of {len(chunk)} ids with something "
                                  "other than one paper (or null) per id; check PAPERSCOPE_S2_API_URL or try again "
                                  "later.")
            for paper_id, element in zip(chunk, answer, strict=True):
                if element is None:
                    yield Problem(origin, f"id {paper_id.api}", "Semantic Scholar knows no paper by this id; check "
                                  "it (a DOI or arXiv id Semantic Scholar has not indexed is not found either)")
                else:
                    yield from parse_paper(element, origin, f"id {paper_id.api}")
