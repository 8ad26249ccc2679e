"""Trending papers: upvotes with a recency decay, for a day, a week or a month.

A paper's upvotes are those its source reports (Hugging Face daily papers) plus the votes of this
site's users. Within a window (one day, the ISO week, the calendar month) papers are ranked by

    score = (upvotes + 1) * 0.5 ** (age_days / half_life)

where `age_days` counts back from the window's last day (or today, inside the current window) and
the half-life grows with the window (1 day for a day, 3 for a week, 10 for a month). So in a day view
the order is the upvote order; over a week a paper of Monday needs twice the votes of one of
Thursday to stay ahead; papers without votes come newest first.

"Most discussed" (`order="discussed"`) ranks the papers commented on within the window instead, by how many
visible comments the window holds (any paper, whatever its date), ties by upvotes, then the newer paper
(docs/decisions/0099-most-discussed-and-notification-mail.md). It is counted afresh for each page, never cached:
a comment shows in the order at once.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal, get_args

from paperscope.models import Paper
from paperscope.store import Store, TrendingCandidate
from paperscope.store.discussed import DiscussedCandidate

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)
Order = Literal["upvotes", "discussed"]
ORDERS: tuple[Order, ...] = get_args(Order)
HALF_LIFE_DAYS: dict[Period, float] = {"day": 1.0, "week": 3.0, "month": 10.0}
CACHE_SECONDS = 60.0  # ranked windows are reused this long unless an ingest invalidates them


def parse_period(value: str | None) -> Period:
    """The period named by a query parameter; ValueError names the choices."""
    text = (value or "day").strip().lower()
    for period in PERIODS:
        if text == period:
            return period
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {value!r}")


def parse_order(value: str | None) -> Order:
    """The trending order named by a query parameter (default: upvotes); ValueError names the choices."""
    text = (value or "upvotes").strip().lower()
    for order in ORDERS:
        if text == order:
            return order
    raise ValueError(f"order must be one of {', '.join(ORDERS)}, not {value!r}")


def window(period: Period, day: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the period that contains `day`."""
    if period == "day":
        return day, day
    if period == "week":
        monday = day - dt.timedelta(days=day.weekday())
        return monday, monday + dt.timedelta(days=6)
    last = calendar.monthrange(day.year, day.month)[1]
    return day.replace(day=1), day.replace(day=last)


def shift(period: Period, day: dt.date, steps: int) -> dt.date:
    """The first day of the window `steps` windows after (or, negative, before) the one holding `day`."""
    first, _ = window(period, day)
    if period == "day":
        return first + dt.timedelta(days=steps)
    if period == "week":
        return first + dt.timedelta(weeks=steps)
    months = first.year * 12 + first.month - 1 + steps
    return dt.date(months // 12, months % 12 + 1, 1)


def total_upvotes(source_upvotes: int | None, local_votes: int) -> int:
    """A paper's upvotes as every page, feed, digest and API answer shows and ranks them: those its source
    reports (Hugging Face daily papers) plus the votes of this site's users."""
    return (source_upvotes or 0) + local_votes


def upvotes_of(store: Store, papers: Collection[Paper]) -> dict[str, int]:
    """`total_upvotes` of each paper, by id (one query for the local votes)."""
    local = store.accounts.vote_counts([p.id for p in papers])
    return {p.id: total_upvotes(p.upvotes, local.get(p.id, 0)) for p in papers}


def score(upvotes: int, age_days: float, half_life_days: float) -> float:
    """Upvotes (plus one, so unvoted papers still order by age) halved every `half_life_days` of age."""
    return float((max(upvotes, 0) + 1) * 0.5 ** (max(age_days, 0.0) / half_life_days))


def rank(candidates: Collection[TrendingCandidate], period: Period, reference: dt.date
         ) -> list[tuple[TrendingCandidate, float]]:
    """Candidates with their scores, best first; ties go to the newer paper, then to the smaller id."""
    half_life = HALF_LIFE_DAYS[period]
    scored = [(c, score(total_upvotes(c.upvotes, c.votes), (reference - c.date).days, half_life))
              for c in candidates]
    scored.sort(key=_ranking_order)
    return scored


def rank_discussed(candidates: Collection[DiscussedCandidate]) -> list[DiscussedCandidate]:
    """The most discussed first: most comments in the window, then most upvotes, then the newer paper, then the
    smaller id."""
    return sorted(candidates, key=lambda c: (-c.comments, -total_upvotes(c.upvotes, c.votes), -c.date.toordinal(),
                                             c.id))


def _ranking_order(item: tuple[TrendingCandidate, float]) -> tuple[float, int, str]:
    return -item[1], -item[0].date.toordinal(), item[0].id


@dataclass
class TrendingEntry:
    paper: Paper
    score: float
    upvotes: int  # total_upvotes


@dataclass
class TrendingPage:
    """One page of a trending window, with the neighbouring windows for navigation."""

    period: Period
    date: dt.date
    first: dt.date
    last: dt.date
    entries: list[TrendingEntry]
    total: int
    offset: int
    previous: dt.date
    next: dt.date | None
    order: Order = "upvotes"


class TrendingFeed:
    """Ranks trending windows from the store, keeping each ranking for CACHE_SECONDS (then refreshed in the
    background). `invalidate()` (after an ingest) makes the next request rank again; `record_vote()` moves
    one paper within the cached rankings. Votes cast on other web processes show once the cache expires, or at
    once on a page asked for with `fresh_votes` (signed-in readers), which reads them for the papers it shows.
    """

    def __init__(self, store: Store, *, cache_seconds: float = CACHE_SECONDS) -> None:
        self.store = store
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cache: dict[tuple[Period, dt.date], tuple[float, int, list[tuple[TrendingCandidate, float]]]] = {}
        self._generation = 0
        self._latest: tuple[float, int, dt.date | None] | None = None
        self._refreshing: set[tuple[Period, dt.date]] = set()
        self._threads: list[threading.Thread] = []

    def invalidate(self) -> None:
        with self._lock:
            self._generation += 1
            self._cache.clear()
            self._latest = None

    def record_vote(self, paper_id: str, change: int) -> None:
        """Apply one vote (+1, or -1 when withdrawn) to the cached rankings that hold the paper, re-sorting
        them (a nearly sorted list sorts in linear time) instead of ranking whole windows again: under
        steady voting, a full re-rank per vote would cost every trending page its cache."""
        with self._lock:
            for key, (made, generation, ranking) in list(self._cache.items()):
                position = next((i for i, (c, _) in enumerate(ranking) if c.id == paper_id), None)
                if position is None:
                    continue
                candidate, old_score = ranking[position]
                moved = dataclasses.replace(candidate, votes=candidate.votes + change)
                new_score = old_score * (max(total_upvotes(moved.upvotes, moved.votes), 0) + 1) / (
                    max(total_upvotes(candidate.upvotes, candidate.votes), 0) + 1)
                updated = list(ranking)
                updated[position] = (moved, new_score)
                updated.sort(key=_ranking_order)
                self._cache[key] = (made, generation, updated)

    def latest_date(self) -> dt.date | None:
        """The newest paper date in the store (cached like the rankings)."""
        now = time.monotonic()
        with self._lock:
            if self._latest and self._latest[1] == self._generation and now - self._latest[0] < self.cache_seconds:
                return self._latest[2]
            generation = self._generation
        latest = self.store.latest_paper_date()
        with self._lock:
            if generation == self._generation:
                self._latest = (now, generation, latest)
        return latest

    def default_date(self, today: dt.date | None = None) -> dt.date:
        """Today, or the newest paper's date when nothing is dated later (a database of older papers)."""
        today = today or dt.date.today()
        latest = self.latest_date()
        return min(latest, today) if latest else today

    def ranked(self, period: Period, day: dt.date, today: dt.date | None = None
               ) -> list[tuple[TrendingCandidate, float]]:
        """The window's ranking. After an invalidation it is ranked again at once; when it merely got older
        than `cache_seconds`, the old ranking is served while one background thread ranks it again, so no
        request waits for a re-rank that nothing asked for."""
        first, last = window(period, day)
        key = (period, first)
        reference = min(last, max(first, today or dt.date.today()))
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(key)
            generation = self._generation
            if cached and cached[1] == generation:
                if now - cached[0] >= self.cache_seconds and key not in self._refreshing:
                    self._refreshing.add(key)
                    thread = threading.Thread(target=self._rank_and_keep, args=(key, last, reference, generation),
                                              name="trending-refresh", daemon=True)
                    self._threads.append(thread)
                    thread.start()
                return cached[2]
        return self._rank_and_keep(key, last, reference, generation)

    def _rank_and_keep(self, key: tuple[Period, dt.date], last: dt.date, reference: dt.date, generation: int
                       ) -> list[tuple[TrendingCandidate, float]]:
        try:
            ranking = rank(self.store.trending_candidates(key[1], last), key[0], reference)
            with self._lock:
                if generation == self._generation:
                    self._cache[key] = (time.monotonic(), generation, ranking)
            return ranking
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def settle(self) -> None:
        """Wait for background re-ranks to finish (tests, shutdown)."""
        with self._lock:
            threads, self._threads = self._threads, []
        for thread in threads:
            thread.join()

    def _visible(self, period: Period, day: dt.date, today: dt.date, exclude: Collection[str]
                 ) -> list[tuple[TrendingCandidate, float]]:
        ranking = self.ranked(period, day, today)
        return [item for item in ranking if item[0].id not in exclude] if exclude else ranking

    def _with_fresh_votes(self, period: Period, day: dt.date, today: dt.date, exclude: Collection[str], offset: int,
                          limit: int) -> list[tuple[TrendingCandidate, float]]:
        """The window's ranking, with the local votes of the papers on the page read afresh: votes cast on
        another web process since the ranking was cached move those papers now (one small query)."""
        ranking = self._visible(period, day, today, exclude)
        shown = [candidate for candidate, _ in ranking[offset:offset + limit]]
        current = self.store.accounts.vote_counts([c.id for c in shown]) if shown else {}
        stale = [(c.id, current.get(c.id, 0) - c.votes) for c in shown if current.get(c.id, 0) != c.votes]
        for paper_id, change in stale:
            self.record_vote(paper_id, change)
        return self._visible(period, day, today, exclude) if stale else ranking

    def page(self, period: Period, day: dt.date | None = None, *, limit: int = 30, offset: int = 0,
             exclude: Collection[str] = (), today: dt.date | None = None, fresh_votes: bool = False,
             order: Order = "upvotes") -> TrendingPage:
        """Trending papers of the window holding `day` (default: `default_date()`), without `exclude`, by upvotes
        or (`order="discussed"`) by the comments written in the window. `fresh_votes`: read the shown papers'
        local votes afresh (for signed-in readers, who may have just voted through another web process), at the
        cost of one query."""
        today = today or dt.date.today()
        day = day or self.default_date(today)
        first, last = window(period, day)
        shown: list[tuple[str, float, int]]  # id, score, total upvotes
        if order == "discussed":
            discussed = [c for c in rank_discussed(self.store.discussed_candidates(first, last))
                         if c.id not in exclude]
            total = len(discussed)
            shown = [(c.id, float(c.comments), total_upvotes(c.upvotes, c.votes))
                     for c in discussed[offset:offset + limit]]
        else:
            ranking = self._with_fresh_votes(period, day, today, exclude, offset, limit) if fresh_votes \
                else self._visible(period, day, today, exclude)
            total = len(ranking)
            shown = [(c.id, s, total_upvotes(c.upvotes, c.votes)) for c, s in ranking[offset:offset + limit]]
        found = self.store.get_papers([paper_id for paper_id, _, _ in shown])
        entries = [TrendingEntry(found[paper_id], s, upvotes) for paper_id, s, upvotes in shown if paper_id in found]
        latest = max(today, self.latest_date() or today)
        following = shift(period, day, 1)
        return TrendingPage(period=period, date=day, first=first, last=last, entries=entries, total=total,
                            offset=offset, previous=shift(period, day, -1),
                            next=following if following <= latest else None, order=order)
