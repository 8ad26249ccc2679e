"""`paperscope ingest arxiv:QUERY`: harvest the arXiv API politely, incrementally and resumably.

Query forms (what follows `arxiv:`):

* a category or archive: `cs.LG`, `math.GT`, `hep-th`  ->  `search_query=cat:cs.LG`; `cs` -> `cat:cs.*`
* ids: `id:2503.11731,2401.00001`                           ->  `id_list=2503.11731,2401.00001`
* a search with field prefixes: `ti:transformer AND cat:cs.LG` is passed on as `search_query`
* any other text: `graph neural networks`                   ->  `search_query=all:"graph neural networks"`

Searches are read newest first (`sortBy=lastUpdatedDate`) a page at a time, at most one request per
`arxiv_delay_seconds` (arXiv asks for 3 s). The sync state `arxiv:QUERY` in the store keeps the
high-water mark: the `<updated>` time of the newest entry of the last completed run. A later run stops
as soon as it reaches entries that are not newer. After each page the source yields a Checkpoint that
also records how far the current run got, so an interrupted run resumes from that page.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient
from paperscope.ids import parse_arxiv_id
from paperscope.ingest.atom import AtomFeed, Stamped
from paperscope.ingest.base import Checkpoint, Entry, Problem, SourceItem
from paperscope.store import Store

ARXIV_MAX_RESULTS = 30_000
"""arXiv serves at most this many results of one query; narrower queries reach further back."""
DEFAULT_FIRST_RUN_LIMIT = 1_000
"""How far back a first run of a search goes when no `limit` is given."""
PAGE_ATTEMPTS = 4
"""Tries of a page that comes back empty or broken although results remain (arXiv does that under load)."""

# Archives that may be written bare (`arxiv:cs`, `arxiv:hep-th`); anything else bare is a text search.
ARCHIVES = frozenset({
    "astro-ph", "cond-mat", "cs", "econ", "eess", "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th",
    "math", "math-ph", "nlin", "nucl-ex", "nucl-th", "physics", "q-bio", "q-fin", "quant-ph", "stat",
})
ARCHIVES_WITH_CLASSES = frozenset({"astro-ph", "cond-mat", "cs", "econ", "eess", "math", "nlin", "physics",
                                   "q-bio", "q-fin", "stat"})
_CATEGORY = re.compile(r"^(?P<archive>[a-z]+(?:-[a-z]+)?)(?:\.[A-Za-z]+(?:-[A-Za-z]+)?)?$")
_FIELD_PREFIX = re.compile(r"\b(?:ti|au|abs|co|jr|cat|rn|id|all|submittedDate|lastUpdatedDate):")
_STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class ArxivQuery:
    """A query as the arXiv API takes it: a `search_query` or an `id_list`."""

    search_query: str | None = None
    id_list: tuple[str, ...] = ()


def parse_query(query: str) -> ArxivQuery:
    """Turn what follows `arxiv:` on the command line into API parameters (see the module docstring)."""
    text = query.strip()
    if not text:
        raise InputError("arxiv: needs a query, e.g. arxiv:cs.LG, arxiv:id:2503.11731 or "
                         "\"arxiv:ti:transformer AND cat:cs.LG\".")
    if text.lower().startswith("id:"):
        ids = []
        for raw in re.split(r"[\s,]+", text[3:]):
            if not raw:
                continue
            parsed = parse_arxiv_id(raw)
            if parsed is None:
                raise InputError(f"arxiv:{text}: {raw!r} is not an arXiv id; write ids such as 2503.11731, "
                                 "2503.11731v2 or hep-th/9901001, separated by commas.")
            paper_id, version = parsed
            ids.append(f"{paper_id}v{version}" if version else paper_id)
        if not ids:
            raise InputError("arxiv:id: needs at least one arXiv id, e.g. arxiv:id:2503.11731,2401.00001.")
        return ArxivQuery(id_list=tuple(dict.fromkeys(ids)))
    match = _CATEGORY.match(text)
    if match and match["archive"] in ARCHIVES:
        if text in ARCHIVES_WITH_CLASSES:  # `cs` alone names no category; its classes are cs.*
            return ArxivQuery(search_query=f"cat:{text}.*")
        return ArxivQuery(search_query=f"cat:{text}")
    if _FIELD_PREFIX.search(text):
        return ArxivQuery(search_query=text)
    return ArxivQuery(search_query='all:"{}"'.format(text.replace('"', "")))


def arxiv_items(query: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """Entries, problems and checkpoints of `arxiv:QUERY`, newest first.

    `limit` caps the entries read by this run. Without it, a first run of a search (no high-water mark
    yet) reads the newest DEFAULT_FIRST_RUN_LIMIT (1,000) entries and later runs read everything newer
    than the mark. On a first run the limit is the depth of the backfill: the run completes there and
    older papers are not fetched later (ingest the bulk metadata snapshot for those). On a later run, a
    limit reached before the high-water mark leaves the run open, and the next run continues from there.

    Id lists (`id:...`) are fetched in full each time and keep no sync state.
    Raises SourceError when arXiv refuses the query, OfflineError when it cannot be reached.
    """
    parsed = parse_query(query)
    origin = f"arxiv:{query.strip()}"
    with PoliteClient(settings, min_interval=settings.arxiv_delay_seconds, name="the arXiv API") as client:
        fetcher = _PageFetcher(client, settings, origin)
        if parsed.id_list:
            yield from _id_items(fetcher, parsed.id_list, settings, limit)
        else:
            assert parsed.search_query is not None
            yield from _search_items(fetcher, parsed.search_query, origin, store, settings, limit)


def _id_items(fetcher: _PageFetcher, ids: tuple[str, ...], settings: Settings,
              limit: int | None) -> Iterator[SourceItem]:
    # One request per chunk of ids, not start/max_results paging: arXiv miscounts totalResults when an
    # id does not exist, which would make paging re-read or wait for entries that never come.
    wanted = ids[:limit] if limit is not None else ids
    size = settings.arxiv_page_size
    for offset in range(0, len(wanted), size):
        chunk = wanted[offset:offset + size]
        params = {"id_list": ",".join(chunk), "start": 0, "max_results": len(chunk)}
        _, items = fetcher.page(params, first_entry=offset + 1, retry_empty=False)
        yield from (stamped.item for stamped in items)


def _search_items(fetcher: _PageFetcher, search_query: str, key: str, store: Store, settings: Settings,
                  limit: int | None) -> Iterator[SourceItem]:
    state = store.get_sync_state(key) or {}
    high_water = _parse_stamp(state.get("high_water"))
    run = state.get("run")
    if not isinstance(run, dict):
        run = {}
    start = _non_negative_int(run.get("next_start"))
    newest = _later(high_water, _parse_stamp(run.get("high_water")))
    first_run = high_water is None
    if limit is None and first_run:
        limit = max(DEFAULT_FIRST_RUN_LIMIT - start, 0)  # the depth of the backfill counts from the top
    read = 0

    def checkpoint(done: bool) -> Checkpoint:
        if done:
            return Checkpoint(key, {"high_water": _format_stamp(newest)})
        return Checkpoint(key, {"high_water": _format_stamp(high_water),
                                "run": {"high_water": _format_stamp(newest), "next_start": start}})

    if limit is not None and limit <= 0:
        if first_run:  # the backfill depth was reached by the interrupted part of the run
            yield checkpoint(done=True)
        return
    while True:
        if start >= ARXIV_MAX_RESULTS:
            yield Problem(key, f"entry {start + 1}", (
                f"arXiv serves at most {ARXIV_MAX_RESULTS:,} results of one query, so older entries were not "
                "read. Narrow the query (e.g. by category) or ingest the bulk metadata snapshot for the "
                "back catalogue."), rejected=False)
            yield checkpoint(done=True)
            return
        size = min(settings.arxiv_page_size, ARXIV_MAX_RESULTS - start)
        if limit is not None:
            size = min(size, limit - read)
        params = {"search_query": search_query, "sortBy": "lastUpdatedDate", "sortOrder": "descending",
                  "start": start, "max_results": size}
        feed, items = fetcher.page(params, first_entry=start + 1, retry_empty=True)
        reached_mark = False
        for item, stamp in items:
            if isinstance(item, Entry) and stamp is not None:
                if high_water is not None and stamp <= high_water:
                    reached_mark = True
                    break
                newest = _later(newest, stamp)
            yield item
        start += feed.entries_read
        read += feed.entries_read
        limit_reached = limit is not None and read >= limit
        # Without opensearch:totalResults, a short page is the last one.
        at_end = (start >= feed.total_results if feed.total_results is not None
                  else feed.entries_read < size)
        # A backfill is complete at its limit; an incremental run stopped by a limit stays open to resume.
        done = reached_mark or feed.entries_read == 0 or at_end or (limit_reached and first_run)
        yield checkpoint(done)
        if done or limit_reached:
            return


class _PageFetcher:
    """Fetches and parses one API page, retrying pages that come back empty or broken."""

    def __init__(self, client: PoliteClient, settings: Settings, origin: str) -> None:
        self.client = client
        self.settings = settings
        self.origin = origin

    def page(self, params: dict[str, Any], *, first_entry: int,
             retry_empty: bool) -> tuple[AtomFeed, list[Stamped]]:
        """The parsed page; raises SourceError if it stays empty or broken after PAGE_ATTEMPTS tries."""
        start = params["start"]
        trouble = ""
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            response = self._get(params)
            feed = AtomFeed(io.BytesIO(response.content), self.origin, from_api=True, first_entry=first_entry)
            items = list(feed.stamped())
            if feed.malformed:
                problem = next(item for item, _ in items if isinstance(item, Problem))
                trouble = f"a broken response ({problem.message})"
            elif retry_empty and feed.entries_read == 0 and start < (feed.total_results or 0):
                trouble = (f"no entries at start={start} although it reported "
                           f"{feed.total_results:,} results")
            else:
                return feed, items
            if attempt < PAGE_ATTEMPTS:
                time.sleep(self.settings.http_backoff_seconds * attempt)
        raise SourceError(
            f"The arXiv API sent {trouble}, {PAGE_ATTEMPTS} times in a row. arXiv does this when it is "
            f"overloaded; run the same command again later (a search resumes from entry {start + 1}).")


    def _get(self, params: dict[str, Any]) -> httpx.Response:
        try:
            return self.client.get(self.settings.arxiv_api_url, params=params)
        except SourceError as exc:
            # arXiv answers most bad queries with HTTP 400 and an error feed: report arXiv's own message.
            response = exc.response
            if isinstance(response, httpx.Response) and response.content:
                try:
                    for _ in AtomFeed(io.BytesIO(response.content), self.origin, from_api=True):
                        pass
                except SourceError as api_error:  # the body was an arXiv error entry
                    raise api_error from None
            raise


def _parse_stamp(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        stamp = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def _format_stamp(stamp: dt.datetime | None) -> str | None:
    return stamp.astimezone(dt.UTC).strftime(_STAMP_FORMAT) if stamp else None


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    return a if b is None else max(a, b)


def _non_negative_int(value: object) -> int:
    return value if isinstance(value, int) and value >= 0 else 0
