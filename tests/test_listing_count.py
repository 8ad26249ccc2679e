"""The listing's bounded count of matches (SQLite and PostgreSQL): exact up to `count_limit` (or the page's offset +
limit if that is more), past it that number and `total_is_lower_bound`, with hidden papers left out of both."""

from __future__ import annotations

import datetime as dt

import pytest

from paperscope.models import Paper
from paperscope.store import Listing, PaperFilter, Store
from paperscope.store.papers import fewest_matches_to_walk, walk_pays

START = dt.date(2025, 1, 1)
PAPERS = [Paper(id=f"2501.{n:05d}", title=f"Paper {n}", abstract="Text.", authors=["Ada Lovelace"],
                categories=["cs.LG"] if n % 3 else ["cs.CV"], published=START + dt.timedelta(days=n))
          for n in range(1, 31)]  # 20 in cs.LG, 10 in cs.CV; paper 30 is the newest
NEWEST_FIRST = [p.id for p in reversed(PAPERS)]
LEARNING = [p.id for p in reversed(PAPERS) if "cs.LG" in p.categories]


@pytest.fixture
def thirty(store: Store) -> Store:
    store.upsert_papers(PAPERS)
    return store


def ids(listing: Listing) -> list[str]:
    return [p.id for p in listing.papers]


def test_the_count_stops_past_the_limit_and_says_more_match(thirty: Store) -> None:
    capped = thirty.list_papers(limit=5, count_limit=10)
    assert (ids(capped), capped.total, capped.total_is_lower_bound) == (NEWEST_FIRST[:5], 10, True)
    assert thirty.list_papers(limit=5, count_limit=29)[1:] == (29, True)
    assert thirty.list_papers(limit=5, count_limit=30)[1:] == (30, False)  # exactly as many as match: exact
    assert thirty.list_papers(limit=5)[1:] == (30, False)  # the default limit is far above 30
    learning = PaperFilter(category="cs.LG")
    assert thirty.list_papers(learning, limit=5, count_limit=10)[1:] == (10, True)
    assert thirty.list_papers(learning, limit=5, count_limit=20)[1:] == (20, False)
    month = PaperFilter(published_from=dt.date(2025, 1, 2), published_to=dt.date(2025, 1, 21))  # papers 1 to 20
    assert thirty.list_papers(month, limit=5, count_limit=19)[1:] == (19, True)
    assert thirty.list_papers(month, limit=5, count_limit=20)[1:] == (20, False)
    assert thirty.list_papers(PaperFilter(category="cs.XX"), count_limit=1) == ([], 0, False)


def test_a_deep_page_counts_past_itself(thirty: Store) -> None:
    """A page past the limit counts to its own end and one more, so it knows whether a next page exists."""
    deep = thirty.list_papers(limit=3, offset=25, count_limit=10)
    assert (ids(deep), deep.total, deep.total_is_lower_bound) == (NEWEST_FIRST[25:28], 28, True)
    last = thirty.list_papers(limit=3, offset=27, count_limit=10)
    assert (ids(last), last.total, last.total_is_lower_bound) == (NEWEST_FIRST[27:], 30, False)
    past = thirty.list_papers(limit=3, offset=40, count_limit=10)
    assert past == ([], 30, False)


def test_hidden_papers_stay_out_of_the_bounded_count(thirty: Store) -> None:
    admin = thirty.accounts.create_user("admin@example.org", password_hash=None).id
    for paper_id in LEARNING[:3]:  # three of the 20 in cs.LG: 17 left to see
        assert thirty.moderation.hide_paper(paper_id, actor_id=admin)
    learning = PaperFilter(category="cs.LG")
    assert thirty.list_papers(learning, limit=5, count_limit=17) == (
        thirty.list_papers(learning, limit=5).papers, 17, False)
    assert ids(thirty.list_papers(learning, limit=5, count_limit=17)) == LEARNING[3:8]
    assert thirty.list_papers(learning, limit=5, count_limit=16)[1:] == (16, True)
    assert thirty.list_papers(limit=5, count_limit=27)[1:] == (27, False)  # 30 stored, 3 hidden
    assert thirty.list_papers(limit=5, count_limit=26)[1:] == (26, True)


def test_a_count_stopped_at_the_fewest_matches_that_walk_chooses_the_plan_the_whole_count_would() -> None:
    """The listing counts at least `fewest_matches_to_walk` matches when a filter needs a plan (SQLite), so the
    bounded count picks the plan that the whole count picks: walk_pays holds from that number on, never below."""
    for papers_total in (1, 7, 1000, 1_000_000, 10_000_000):
        for rows in (1, 20, 10_020, 100_000):
            fewest = fewest_matches_to_walk(papers_total, rows)
            assert walk_pays(fewest, papers_total, rows) and walk_pays(fewest + 1, papers_total, rows)
            assert fewest == 0 or not walk_pays(fewest - 1, papers_total, rows), (papers_total, rows)
    assert fewest_matches_to_walk(10_000_000, 20) == 7072 and fewest_matches_to_walk(10_000_000, 10_020) == 158_272
