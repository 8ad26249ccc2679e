"""`paperscope ingest pubmed:QUERY`: NCBI E-utilities, esearch for the PMIDs, then efetch in batches.

Forms (what follows `pubmed:`): any PubMed search (`pubmed:"CRISPR"[tiab] AND 2025[dp]`), or PMIDs
(`pubmed:id:34265844,25915600`, fetched in full each time, no sync state).

A search is incremental by Entrez date (docs/decisions/0086-pubmed-incremental-by-entrez-date.md): each run
reads the window from the day the last completed run ended (`mindate`, `datetype=edat`) to today, newest
PMIDs first, and fetches them `EFETCH_BATCH` at a time with a Checkpoint after each batch, so an
interrupted run resumes below the last PMID it stored. A first run reads the DEFAULT_FIRST_RUN_LIMIT most
recently published records.
esearch returns at most ESEARCH_MAX ids of one query (an NCBI limit); a larger result is reported.

NCBI allows 3 requests a second, 10 with an API key (PAPERSCOPE_NCBI_API_KEY, sent as `api_key`); every
request carries `tool=paperscope` and `email` (PAPERSCOPE_CONTACT_EMAIL) as NCBI asks.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.http import PoliteClient, contact_headers
from paperscope.ingest.base import Checkpoint, Entry, Problem, SourceItem
from paperscope.ingest.pubmed import read_pubmed_xml
from paperscope.store import Store

EFETCH_BATCH = 200
"""PMIDs per efetch request (NCBI suggests at most 200 per GET)."""
ESEARCH_MAX = 10_000
"""PubMed's esearch serves at most this many ids of one query."""
DEFAULT_FIRST_RUN_LIMIT = 1_000
"""How many of the newest PMIDs a first run of a search reads when no `limit` is given."""
TOOL = "paperscope"
_DATE_FORMAT = "%Y/%m/%d"


def pubmed_items(spec: str, store: Store, settings: Settings, *, limit: int | None) -> Iterator[SourceItem]:
    """Entries, problems and checkpoints of `pubmed:QUERY` or `pubmed:id:PMID[,PMID...]`.

    Raises InputError for an empty query or a malformed id list, SourceError when NCBI refuses the query,
    OfflineError when it cannot be reached.
    """
    text = spec.strip()
    if not text:
        raise InputError('pubmed: needs a PubMed search, e.g. pubmed:"single-cell RNA" or '
                         "pubmed:id:34265844,25915600.")
    pmids = _parse_ids(text[3:]) if text.lower().startswith("id:") else None
    api = _Eutils(settings, f"pubmed:{text}")
    try:
        if pmids is not None:
            yield from api.fetch(pmids[:limit] if limit is not None else pmids)
        else:
            yield from _search_items(api, text, store, limit)
    finally:
        api.close()


def _parse_ids(text: str) -> list[str]:
    pmids = [part for part in re.split(r"[\s,]+", text) if part]
    bad = next((part for part in pmids if not part.isdigit()), None)
    if bad is not None or not pmids:
        raise InputError(f"pubmed:id:{text}: {bad!r} is not a PMID; write PMIDs (digits) separated by commas, "
                         "e.g. pubmed:id:34265844,25915600.")
    return list(dict.fromkeys(str(int(pmid)) for pmid in pmids))


def _search_items(api: _Eutils, term: str, store: Store, limit: int | None) -> Iterator[SourceItem]:
    key = api.origin
    state = store.get_sync_state(key) or {}
    mindate = state.get("mindate") if isinstance(state.get("mindate"), str) else None
    run = state.get("run") if isinstance(state.get("run"), dict) else {}
    assert isinstance(run, dict)
    today = dt.datetime.now(dt.UTC).date().strftime(_DATE_FORMAT)
    maxdate = run.get("maxdate") if isinstance(run.get("maxdate"), str) else today
    below = run.get("below") if isinstance(run.get("below"), int) else None
    done_before = run.get("read") if isinstance(run.get("read"), int) else 0
    assert isinstance(done_before, int)
    first_run = mindate is None
    if limit is None and first_run:  # the depth of the backfill counts what the interrupted part read
        limit = max(DEFAULT_FIRST_RUN_LIMIT - done_before, 0)

    def checkpoint(done: bool, below: int | None = None, read: int = 0) -> Checkpoint:
        if done:
            return Checkpoint(key, {"mindate": maxdate})
        return Checkpoint(key, {"mindate": mindate, "run": {"maxdate": maxdate, "below": below,
                                                            "read": done_before + read}})

    if limit == 0:  # a first run whose interrupted part reached the backfill depth
        yield checkpoint(True)
        return
    window = {"datetype": "edat", "mindate": mindate, "maxdate": maxdate} if mindate else {}
    pmids, total = api.search(term, window, want=limit if below is None else None)
    if total > ESEARCH_MAX and (limit is None or limit > ESEARCH_MAX):
        yield Problem(key, "esearch", f"the search matches {total:,} records but PubMed serves at most "
                      f"{ESEARCH_MAX:,} ids of one query, so the rest were not read. Narrow it, e.g. with a "
                      'date range such as AND 2025/01:2025/06[edat]', rejected=False)
    ordered = sorted({int(pmid) for pmid in pmids}, reverse=True)  # newest PMIDs first: a stable order
    if below is not None:
        ordered = [pmid for pmid in ordered if pmid < below]
    if limit is not None:
        ordered = ordered[:limit]
    for start in range(0, len(ordered), EFETCH_BATCH):
        batch = ordered[start:start + EFETCH_BATCH]
        yield from api.fetch([str(pmid) for pmid in batch])
        last = start + EFETCH_BATCH >= len(ordered)
        limited = limit is not None and len(ordered) >= limit
        # A first run is complete at its limit (the backfill depth); a later run cut by a limit stays open.
        done = last and (first_run or not limited)
        yield checkpoint(done, batch[-1], start + len(batch))
    if not ordered:
        yield checkpoint(True)


class _Eutils:
    """esearch and efetch with NCBI's identification and rate limit."""

    def __init__(self, settings: Settings, origin: str) -> None:
        self.origin = origin
        self.base = settings.pubmed_api_url.rstrip("/")
        self.common: dict[str, Any] = {"db": "pubmed", "tool": TOOL}
        if settings.contact_email:
            self.common["email"] = settings.contact_email
        if settings.ncbi_api_key:
            self.common["api_key"] = settings.ncbi_api_key
        interval = 0.1 if settings.ncbi_api_key else 1 / 3
        self.client = PoliteClient(settings, min_interval=interval, headers=contact_headers(settings),
                                   name="PubMed (NCBI E-utilities)")

    def close(self) -> None:
        self.client.close()

    def search(self, term: str, window: dict[str, str], *, want: int | None) -> tuple[list[str], int]:
        """The PMIDs of a search (at most `want`, at most ESEARCH_MAX) and how many records match."""
        cap = min(want or ESEARCH_MAX, ESEARCH_MAX)
        pmids: list[str] = []
        total = 0
        while len(pmids) < cap:
            params = {**self.common, "term": term, "retmode": "json", "sort": "pub_date", **window,
                      "retstart": len(pmids), "retmax": min(cap - len(pmids), ESEARCH_MAX)}
            response = self.client.get(f"{self.base}/esearch.fcgi", params=params)
            result = _esearch_result(response.content, str(response.url))
            total = int(result.get("count") or 0)
            page = [str(pmid) for pmid in result.get("idlist") or [] if str(pmid).isdigit()]
            pmids.extend(page)
            if not page or len(pmids) >= min(total, cap):
                break
        return pmids, total

    def fetch(self, pmids: list[str]) -> Iterator[Entry | Problem]:
        """The records of these PMIDs, EFETCH_BATCH per request."""
        for start in range(0, len(pmids), EFETCH_BATCH):
            batch = pmids[start:start + EFETCH_BATCH]
            params = {**self.common, "retmode": "xml", "id": ",".join(batch)}
            response = self.client.get(f"{self.base}/efetch.fcgi", params=params)
            body = response.content
            if b"<eFetchResult" in body[:500] or b"<ERROR>" in body[:500]:
                message = re.search(rb"<ERROR>(.*?)</ERROR>", body, re.S)
                raise SourceError(f"PubMed answered {response.url} with an error: "
                                  f"{(message[1] if message else body[:200]).decode('utf-8', 'replace')}")
            for item in read_pubmed_xml(io.BytesIO(body), self.origin):
                if isinstance(item, Problem) and (item.where in ("", "start") or item.where.startswith("after")):
                    # The answer itself is broken (cut off, not XML): retrying later is the remedy.
                    raise SourceError(f"PubMed sent a broken answer to {response.url}: {item.message}")
                yield item


def _esearch_result(body: bytes, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
        result = answer["esearchresult"]
        assert isinstance(result, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise SourceError(f"PubMed answered {url} with something that is not an esearch result "
                          f"({body[:120]!r}); check PAPERSCOPE_PUBMED_API_URL or try again later.") from None
    error = result.get("ERROR") or (answer.get("error") if isinstance(answer, dict) else None)
    if error:
        raise SourceError(f"PubMed refused the search {url}: {error}")
    return result
