"""Recommendations: rankers on synthetic clusters, the store-backed recommender, reasons and cold start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.ingest.pipeline import Ingester
from paperscope.recommend import (
    Corpus,
    FusedRanker,
    GraphRanker,
    LinearRanker,
    NothingToGoOn,
    Recommender,
    Signals,
)
from paperscope.store import Store, open_store
from tests.conftest import FIXTURES

GRAPH = [f"2601.{n:05d}" for n in range(1, 7)]
SPEECH = [f"2601.{n:05d}" for n in range(7, 12)]
ROBOTS = [f"2601.{n:05d}" for n in range(12, 17)]


def clusters(per_cluster: int = 40, seed: int = 0) -> Corpus:
    """Three well separated clusters of unit vectors in 16 dimensions."""
    rng = np.random.default_rng(seed)
    centres = np.eye(16)[:3] * 3
    rows = np.vstack([c + rng.normal(size=(per_cluster, 16)) for c in centres]).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return Corpus([f"p{i}" for i in range(len(rows))], rows)


@pytest.mark.parametrize("ranker", [LinearRanker(), GraphRanker(), GraphRanker(max_candidates=25),
                                    FusedRanker([LinearRanker(), GraphRanker()])],
                         ids=["linear", "graph", "graph-shortlist", "fused"])
def test_every_ranker_puts_the_library_cluster_first(ranker: object) -> None:
    corpus = clusters()
    library = np.arange(0, 8)  # cluster 0
    hidden = np.arange(40, 44)  # cluster 1
    candidates = np.concatenate([np.arange(20, 40), np.arange(60, 80), np.arange(100, 120)])
    scores = ranker.scores(corpus, Signals(library, hidden, candidates))  # type: ignore[attr-defined]
    assert scores.shape == candidates.shape and np.isfinite(scores).all()
    top = candidates[np.argsort(-scores)[:20]]
    assert (top < 40).mean() >= 0.9


@pytest.mark.parametrize("contrast", [True, False], ids=["contrast", "sinks"])
def test_hidden_papers_push_their_region_down(contrast: bool) -> None:
    """Two clusters equally near the library: the one holding hidden papers ranks below the other."""
    rng = np.random.default_rng(1)
    base = np.zeros(8)
    base[0] = 1
    left, right = base.copy(), base.copy()
    left[1], right[2] = 0.8, 0.8
    rows = np.vstack([base + 0.3 * rng.normal(size=(6, 8)),  # the library
                      left + 0.3 * rng.normal(size=(30, 8)), right + 0.3 * rng.normal(size=(30, 8))])
    rows = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    corpus = Corpus([f"p{i}" for i in range(len(rows))], rows)
    library, hidden = np.arange(6), np.arange(6, 12)  # hidden papers in the left cluster
    candidates = np.arange(12, 66)
    ranker = GraphRanker(neighbours=10, restart=0.15, contrast=contrast)
    scores = ranker.scores(corpus, Signals(library, hidden, candidates))
    left_mean, right_mean = scores[:24].mean(), scores[24:].mean()
    assert right_mean > 1.1 * left_mean
    unmarked = ranker.scores(corpus, Signals(library, np.arange(0), candidates))
    assert unmarked[24:].mean() / unmarked[:24].mean() < right_mean / left_mean


@pytest.fixture
def site(tmp_path: Path) -> tuple[Store, Settings]:
    settings = Settings(database_url=str(tmp_path / "r.db"), embedding_model="hashing")
    store = open_store(settings.database_url)
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    SearchEngine(store, settings).update()
    return store, settings


def test_recommendations_follow_the_library_and_say_why(site: tuple[Store, Settings]) -> None:
    store, settings = site
    user = store.accounts.create_user("ada@example.org")
    store.accounts.set_library_state(user.id, SPEECH[:2], "saved")
    store.accounts.set_library_state(user.id, ROBOTS[:1], "hidden")
    results = Recommender(store, settings).recommend(user.id, limit=5)
    ids = [r.id for r in results]
    assert set(ids[:3]) <= set(SPEECH[2:])
    assert not set(ids) & {*SPEECH[:2], ROBOTS[0]}  # never the library or hidden papers
    why = results[0].why
    assert {c.id for c in why.closest} <= set(SPEECH[:2]) and why.closest
    assert why.terms and "speech" in " ".join(why.terms)
    text = why.text()
    assert text.startswith("Close to \u201c") and "in your library" in text and "shared terms:" in text
    data = results[0].as_dict()
    assert set(data) >= {"id", "score", "why"} and data["why"] == text
    store.close()


def test_cold_start_from_a_followed_search_and_author(site: tuple[Store, Settings]) -> None:
    store, settings = site
    user = store.accounts.create_user("bob@example.org")
    recommender = Recommender(store, settings)
    with pytest.raises(NothingToGoOn, match="paperscope library add"):
        recommender.recommend(user.id)
    store.digests.follow(user.id, "query", "robot grasping")
    results = recommender.recommend(user.id, limit=4)
    assert {r.id for r in results[:3]} <= set(ROBOTS)
    assert "your saved search \u201crobot grasping\u201d" in results[0].why.text()
    store.digests.unfollow(user.id, "query", "robot grasping")
    store.digests.follow(user.id, "author", "Katherine Johnson")  # first author of one paper per theme
    by_author = recommender.recommend(user.id, limit=10)
    assert sorted(r.id for r in by_author) == ["2601.00005", "2601.00011", "2601.00016"]
    assert "your followed author Katherine Johnson" in by_author[0].why.text()
    store.close()


def test_followed_topics_filter_through_the_topic_map_hook(site: tuple[Store, Settings]) -> None:
    store, settings = site
    user = store.accounts.create_user("cy@example.org")
    store.accounts.set_library_state(user.id, GRAPH[:1], "saved")
    store.digests.follow(user.id, "topic", "7")
    topic_of = {pid: "7" for pid in ROBOTS} | {pid: "3" for pid in GRAPH + SPEECH}
    recommender = Recommender(store, settings, topic_of=lambda ids: {i: topic_of[i] for i in ids if i in topic_of})
    results = recommender.recommend(user.id, limit=10)
    assert sorted(r.id for r in results) == ROBOTS and results[0].why.topic == "7"
    store.close()


def test_the_real_model_ranks_the_librarys_theme_first(tmp_path: Path) -> None:
    settings = Settings(database_url=str(tmp_path / "m.db"), embedding_model="minilm")
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        SearchEngine(store, settings).update()
        user = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(user.id, GRAPH[:2], "saved")
        results = Recommender(store, settings).recommend(user.id, limit=4)
    assert {r.id for r in results} == set(GRAPH[2:])
