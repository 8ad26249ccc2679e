"""Trending: windows, navigation, the decayed score, and the feed over a real store."""

from __future__ import annotations

import datetime as dt

import pytest

from paperscope.feed.trending import TrendingFeed, parse_period, rank, score, shift, window
from paperscope.models import Paper
from paperscope.store import Store, TrendingCandidate

D = dt.date


def test_windows_are_a_day_an_iso_week_and_a_calendar_month() -> None:
    assert window("day", D(2026, 6, 4)) == (D(2026, 6, 4), D(2026, 6, 4))
    assert window("week", D(2026, 6, 4)) == (D(2026, 6, 1), D(2026, 6, 7))  # Monday to Sunday
    assert window("month", D(2024, 2, 10)) == (D(2024, 2, 1), D(2024, 2, 29))


def test_shift_moves_whole_windows() -> None:
    assert shift("day", D(2026, 3, 1), -1) == D(2026, 2, 28)
    assert shift("week", D(2026, 6, 4), -1) == D(2026, 5, 25)
    assert shift("month", D(2026, 1, 31), -1) == D(2025, 12, 1)
    assert shift("month", D(2026, 12, 5), 1) == D(2027, 1, 1)


def test_parse_period_names_the_choices() -> None:
    assert parse_period(None) == "day" and parse_period(" Week ") == "week"
    with pytest.raises(ValueError, match="day, week, month"):
        parse_period("year")


def test_score_halves_every_half_life_and_counts_zero_votes() -> None:
    assert score(9, 0, 3) == 10
    assert score(9, 3, 3) == pytest.approx(5)
    assert score(0, 0, 1) == 1 and score(0, 1, 1) == 0.5
    assert score(5, -2, 1) == score(5, 0, 1)  # a date after the reference is not a bonus


def _candidate(pid: str, upvotes: int, day: dt.date, votes: int = 0) -> TrendingCandidate:
    return TrendingCandidate(id=pid, upvotes=upvotes, votes=votes, date=day)


def test_rank_trades_votes_against_age() -> None:
    ref = D(2026, 6, 7)
    ranked = rank([_candidate("old-popular", 20, D(2026, 6, 1)), _candidate("new-modest", 5, D(2026, 6, 7)),
                   _candidate("new-local", 2, D(2026, 6, 7), votes=4), _candidate("unvoted", 0, D(2026, 6, 7))],
                  "week", ref)
    # 21 * 0.5**2 = 5.25 < 6 (new-modest) < 7 (new-local: upvotes and local votes add up)
    assert [c.id for c, _ in ranked] == ["new-local", "new-modest", "old-popular", "unvoted"]


def test_rank_breaks_ties_by_date_then_id() -> None:
    ranked = rank([_candidate("b", 0, D(2026, 6, 1)), _candidate("a", 0, D(2026, 6, 1)),
                   _candidate("c", 1, D(2026, 6, 2))], "day", D(2026, 6, 2))
    assert [c.id for c, _ in ranked] == ["c", "a", "b"]


def test_feed_over_a_store_counts_local_votes_and_invalidates(store: Store) -> None:
    store.upsert_papers([Paper(id="2606.00001", title="Popular", upvotes=3, published=D(2026, 6, 4)),
                         Paper(id="2606.00002", title="Local favourite", upvotes=1, published=D(2026, 6, 4)),
                         Paper(id="2606.00003", title="Yesterday", upvotes=50, published=D(2026, 6, 3))])
    feed = TrendingFeed(store)
    page = feed.page("day", D(2026, 6, 4), today=D(2026, 6, 10))
    assert [e.paper.id for e in page.entries] == ["2606.00001", "2606.00002"]
    assert page.previous == D(2026, 6, 3) and page.next == D(2026, 6, 5)
    for email in ("a@example.org", "b@example.org", "c@example.org"):
        store.accounts.vote(store.accounts.create_user(email).id, "2606.00002")
    assert [c.id for c, _ in feed.ranked("day", D(2026, 6, 4), today=D(2026, 6, 10))][0] == "2606.00001"  # cached
    feed.invalidate()
    entries = feed.page("day", D(2026, 6, 4), today=D(2026, 6, 10)).entries
    assert [(e.paper.id, e.upvotes) for e in entries] == [("2606.00002", 4), ("2606.00001", 3)]
    assert feed.page("day", D(2026, 6, 4), exclude={"2606.00002"}, today=D(2026, 6, 10)).total == 1


def test_a_recorded_vote_moves_the_paper_in_the_cached_ranking_without_ranking_again(store: Store) -> None:
    store.upsert_papers([Paper(id="2606.00001", title="Popular", upvotes=2, published=D(2026, 6, 4)),
                         Paper(id="2606.00002", title="Local favourite", upvotes=1, published=D(2026, 6, 4)),
                         Paper(id="2606.00003", title="Quiet", upvotes=0, published=D(2026, 6, 4))])
    feed = TrendingFeed(store)
    before = feed.ranked("day", D(2026, 6, 4), today=D(2026, 6, 10))
    assert [c.id for c, _ in before] == ["2606.00001", "2606.00002", "2606.00003"]
    voters = [store.accounts.create_user(f"{n}@example.org").id for n in range(2)]
    for voter in voters:
        store.accounts.vote(voter, "2606.00003")
        feed.record_vote("2606.00003", +1)
    store.upsert_papers([Paper(id="2606.00004", title="Not ranked yet", published=D(2026, 6, 4))])
    after = feed.ranked("day", D(2026, 6, 4), today=D(2026, 6, 10))
    assert [c.id for c, _ in after] == ["2606.00001", "2606.00003", "2606.00002"]  # the cache, moved: no 00004
    assert after[1][1] == pytest.approx(score(2, 0, 1.0)) and after[1][0].votes == 2
    store.accounts.vote(voters[0], "2606.00003", up=False)
    feed.record_vote("2606.00003", -1)
    cached = feed.ranked("day", D(2026, 6, 4), today=D(2026, 6, 10))
    ranked_anew = TrendingFeed(store).ranked("day", D(2026, 6, 4), today=D(2026, 6, 10))
    assert [(c, pytest.approx(s)) for c, s in ranked_anew if c.id != "2606.00004"] == cached


def test_undated_papers_count_from_the_day_they_were_added(store: Store) -> None:
    store.upsert_papers([Paper(id="2506.00001", title="Listed without a date")])
    feed = TrendingFeed(store)
    today = dt.datetime.now(dt.UTC).date()
    assert feed.default_date(today) == today
    assert [e.paper.id for e in feed.page("day", today, today=today).entries] == ["2506.00001"]
    assert feed.page("day", today, today=today).next is None  # nothing after today


def test_an_old_ranking_is_served_while_it_is_ranked_again(store: Store) -> None:
    store.upsert_papers([Paper(id="2606.00001", title="First", upvotes=2, published=D(2026, 6, 4)),
                         Paper(id="2606.00002", title="Second", upvotes=1, published=D(2026, 6, 4))])
    feed = TrendingFeed(store, cache_seconds=0)  # every ranking is "old" at once
    assert [c.id for c, _ in feed.ranked("day", D(2026, 6, 4))] == ["2606.00001", "2606.00002"]
    for email in ("a@example.org", "b@example.org"):
        store.accounts.vote(store.accounts.create_user(email).id, "2606.00002")  # no invalidate()
    stale = feed.ranked("day", D(2026, 6, 4))  # served from the cache; a re-rank starts behind it
    assert [c.id for c, _ in stale] == ["2606.00001", "2606.00002"]
    feed.settle()
    fresh = feed.ranked("day", D(2026, 6, 4))
    assert [c.id for c, _ in fresh] == ["2606.00002", "2606.00001"]
    feed.settle()


def test_a_page_with_fresh_votes_shows_votes_cast_on_another_process_at_once(store: Store) -> None:
    store.upsert_papers([Paper(id="2606.00001", title="Popular", upvotes=2, published=D(2026, 6, 4)),
                         Paper(id="2606.00002", title="Local favourite", upvotes=1, published=D(2026, 6, 4))])
    this_process, other_process = TrendingFeed(store), TrendingFeed(store)
    day, today = D(2026, 6, 4), D(2026, 6, 10)
    assert [e.paper.id for e in this_process.page("day", day, today=today).entries] == ["2606.00001", "2606.00002"]
    for n in range(2):  # votes cast through the other process: only its cache hears of them
        store.accounts.vote(store.accounts.create_user(f"{n}@example.org").id, "2606.00002")
        other_process.record_vote("2606.00002", +1)
    anonymous = this_process.page("day", day, today=today).entries  # the cached ranking, as it was
    assert [(e.paper.id, e.upvotes) for e in anonymous] == [("2606.00001", 2), ("2606.00002", 1)]
    entries = this_process.page("day", day, today=today, fresh_votes=True).entries
    assert [(e.paper.id, e.upvotes) for e in entries] == [("2606.00002", 3), ("2606.00001", 2)]
    assert [c.id for c, _ in this_process.ranked("day", day, today=today)] == ["2606.00002", "2606.00001"]
