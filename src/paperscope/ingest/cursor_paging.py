"""Incremental, resumable harvests of APIs that page with a cursor (OpenAlex, Crossref).

A harvest of one source spec keeps its sync state in the store under `key` ("openalex:QUERY"):

* `since`: the day the last completed run started. A later run asks only for records updated on or after it
  (the API's "updated since" filter); the day is read again, which the merge makes harmless.
* `run`: how far the current run got (`cursor`, the day it `started`, records `read`), saved after every page,
  so an interrupted run resumes at the page it had reached instead of starting over.

A first run reads at most `first_run_limit` records (the depth of the backfill) unless a limit is given; a
limit reached on a later run leaves the run open, and the next run continues from its cursor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from paperscope.ingest.base import Checkpoint, Item, SourceItem
from paperscope.store import Store

FIRST_CURSOR = "*"


@dataclass(frozen=True)
class Page:
    """One page of an API answer: its parsed items, how many records it held, the cursor of the next page
    (None at the end) and the total the API reports for the query (None when it does not say)."""

    items: Sequence[Item]
    records: int
    next_cursor: str | None
    total: int | None = None


# (cursor, records updated since this day or None, page size) -> the page
PageFetcher = Callable[[str, str | None, int], Page]


def harvest(key: str, store: Store, fetch: PageFetcher, *, page_size: int, limit: int | None,
            first_run_limit: int) -> Iterator[SourceItem]:
    """Items and checkpoints of a cursor-paged query, resuming and incremental as the module docstring says."""
    state = store.get_sync_state(key) or {}
    since = _day(state.get("since"))
    run = state.get("run") if isinstance(state.get("run"), dict) else {}
    assert isinstance(run, dict)
    saved_cursor = run.get("cursor")
    cursor = saved_cursor if isinstance(saved_cursor, str) and saved_cursor else FIRST_CURSOR
    started = _day(run.get("started")) or dt.datetime.now(dt.UTC).date().isoformat()
    read_before = run.get("read") if isinstance(run.get("read"), int) and run.get("read", 0) >= 0 else 0
    assert isinstance(read_before, int)
    first_run = since is None
    if limit is None and first_run:
        limit = max(first_run_limit - read_before, 0)  # the backfill depth counts from the first page
    if limit is not None and limit <= 0:
        if first_run:
            yield Checkpoint(key, {"since": started})
        return
    read = 0
    while True:
        size = page_size if limit is None else min(page_size, limit - read)
        page = fetch(cursor, since, size)
        yield from page.items
        read += page.records
        limit_reached = limit is not None and read >= limit
        at_end = (page.next_cursor is None or page.records == 0
                  or (page.total is not None and read_before + read >= page.total))
        if at_end or (limit_reached and first_run):
            yield Checkpoint(key, {"since": started})
            return
        assert page.next_cursor is not None
        cursor = page.next_cursor
        yield Checkpoint(key, {"since": since, "run": {"cursor": cursor, "started": started,
                                                       "read": read_before + read}})
        if limit_reached:
            return


def _day(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None
