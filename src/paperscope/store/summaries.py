"""LLM summaries of papers (table `paper_summaries`): one sentence and three key phrases per paper, with the
model that wrote them, and the failed attempts of papers whose summary could not be made.

The store keeps what it is given; what a summary may hold (one sentence, three phrases, their lengths, no
control characters) is checked by `paperscope.summaries` before anything is stored. The order in which papers
wait, newest first by publication date (the listing's index), and the hidden papers being left out are the
store's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.store.db import as_utc, in_chunks, upsert, utc_now, write_transaction
from paperscope.store.schema import hidden_papers, paper_summaries, papers

ERROR_CHARS = 500  # of the last failure's message, kept for `paperscope summarise` to show


@dataclass(frozen=True, slots=True)
class PaperSummary:
    """A paper's summary as the pages, the API and the digests show it."""

    paper_id: str
    text: str  # one sentence
    key_phrases: tuple[str, ...]  # three
    model: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class SummaryCounts:
    summarised: int
    waiting_to_retry: int
    given_up: int


class SummaryStore:
    """Database I/O for paper summaries. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def of_papers(self, paper_ids: Iterable[str]) -> dict[str, PaperSummary]:
        """The summaries of those papers that have one, by paper id (one query per IN chunk)."""
        found: dict[str, PaperSummary] = {}
        s = paper_summaries
        with self.engine.connect() as conn:
            for chunk in in_chunks(sorted(set(paper_ids))):
                rows = conn.execute(sa.select(s.c.paper_id, s.c.summary, s.c.key_phrases, s.c.model, s.c.created_at)
                                    .where(s.c.paper_id.in_(chunk), s.c.summary.is_not(None))).mappings()
                for row in rows:
                    found[row["paper_id"]] = PaperSummary(row["paper_id"], row["summary"],
                                                          tuple(row["key_phrases"] or ()), row["model"],
                                                          as_utc(row["created_at"]))
        return found

    def get(self, paper_id: str) -> PaperSummary | None:
        return self.of_papers([paper_id]).get(paper_id)

    def pending(self, *, limit: int, published_since: dt.date | None = None, now: dt.datetime | None = None
                ) -> list[str]:
        """Ids of up to `limit` papers to summarise, newest first: those never tried, and those that failed
        whose `retry_at` has come. `published_since` keeps to papers published since then (undated ones are
        left out); None: any. Papers hidden by a moderator are left out."""
        s = paper_summaries
        now = now or utc_now()
        query = (sa.select(papers.c.id)
                 .select_from(papers.outerjoin(s, s.c.paper_id == papers.c.id))
                 .where(sa.or_(s.c.paper_id.is_(None), sa.and_(s.c.summary.is_(None), s.c.retry_at <= now)))
                 .where(~sa.exists().where(hidden_papers.c.paper_id == papers.c.id))
                 .order_by(papers.c.published.desc().nulls_last(), papers.c.added_at.desc(), papers.c.id)
                 .limit(limit))
        if published_since is not None:
            query = query.where(papers.c.published >= published_since)
        with self.engine.connect() as conn:
            return list(conn.execute(query).scalars())

    def save(self, paper_id: str, text: str, key_phrases: Iterable[str], model: str) -> None:
        """Store (or replace) a paper's summary; a paper deleted meanwhile is skipped."""
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                return
            conn.execute(upsert(conn, paper_summaries).values(
                paper_id=paper_id, summary=text, key_phrases=list(key_phrases), model=model, created_at=utc_now(),
                attempts=0, retry_at=None, error=None))

    def record_failure(self, paper_id: str, model: str, error: str, *, retry_at: dt.datetime | None) -> int:
        """Count a failed attempt at a paper without a summary (a stored summary is kept); `retry_at` None gives
        the paper up. Returns the failed attempts so far."""
        s = paper_summaries
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(papers.c.id).where(papers.c.id == paper_id)).first() is None:
                return 0
            row = conn.execute(sa.select(s.c.summary, s.c.attempts).where(s.c.paper_id == paper_id)).first()
            if row is not None and row.summary is not None:
                return 0
            attempts = (row.attempts if row is not None else 0) + 1
            conn.execute(upsert(conn, s).values(paper_id=paper_id, summary=None, key_phrases=None, model=model,
                                                created_at=utc_now(), attempts=attempts, retry_at=retry_at,
                                                error=error[:ERROR_CHARS]))
        return attempts

    def failed_attempts(self, paper_id: str) -> int:
        """Failed attempts of a paper that has no summary (0 when it has one or was never tried)."""
        s = paper_summaries
        with self.engine.connect() as conn:
            value = conn.execute(sa.select(s.c.attempts).where(s.c.paper_id == paper_id, s.c.summary.is_(None))
                                 ).scalar()
        return int(value or 0)

    def counts(self) -> SummaryCounts:
        """Papers summarised, failed and waiting to be tried again, and given up."""
        s = paper_summaries
        count = sa.select(sa.func.count()).select_from(s)
        with self.engine.connect() as conn:
            summarised = conn.execute(count.where(s.c.summary.is_not(None))).scalar_one()
            waiting = conn.execute(count.where(s.c.summary.is_(None), s.c.retry_at.is_not(None))).scalar_one()
            given_up = conn.execute(count.where(s.c.summary.is_(None), s.c.retry_at.is_(None))).scalar_one()
        return SummaryCounts(int(summarised), int(waiting), int(given_up))
