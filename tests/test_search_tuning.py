"""Hybrid search tuned on the instance's own papers (index/tuning.py), on a real slice of SciFact's abstracts.

The cheap hashing embedder stands in for the model, so the slice is indexed in seconds; a second embedder that
gives every text a random vector stands in for a model that knows nothing of the collection, so that one fusion is
plainly better than the fixed one and the tuning has to find it.
"""

import json
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from paperscope.config import Settings
from paperscope.embed.base import document_text
from paperscope.embed.hashing import HashingEmbedder
from paperscope.index.hybrid import Fusion
from paperscope.index.search import SearchEngine
from paperscope.index.tuning import (
    STATE_KEY,
    fixed_fusion,
    grid,
    known_items,
    load_tuning,
    rank_known_items,
    save_tuning,
    tune_fusion,
    tuning_due,
)
from paperscope.indexing import index_papers
from paperscope.models import Paper
from paperscope.store import open_store
from tests.conftest import shared_path

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

PAPERS = 400


class RandomEmbedder:
    """Every text gets a random unit vector: semantic rankings that carry no information."""

    name = "random-384"
    version = "test"
    dim = 384

    def __init__(self) -> None:
        self._rng = np.random.default_rng(5)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = self._rng.standard_normal((len(texts), self.dim)).astype(np.float32)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def embed_query(self, text: str) -> np.ndarray:
        vector: np.ndarray = self.embed([text])[0]
        return vector


def scifact_papers(count: int) -> list[Paper]:
    lines = (shared_path("data", "scifact") / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    return [Paper(id=str(d["id"]), title=d["title"], abstract=d["abstract"], sources=["scifact"])
            for d in map(json.loads, lines)]


def indexed_engine(tmp_path: Path, embedder: object, papers: list[Paper], **settings: object) -> SearchEngine:
    db = tmp_path / "tuning.db"
    config = Settings(database_url=str(db), index_dir=str(tmp_path / "index"), **settings)  # type: ignore[arg-type]
    engine = SearchEngine(open_store(str(db)), config, embedder=embedder)  # type: ignore[arg-type]
    engine.store.upsert_papers(papers)
    index_papers(engine, tune_search="never")
    return engine


def test_tuning_moves_weight_off_a_semantic_ranking_that_knows_nothing(tmp_path: Path) -> None:
    engine = indexed_engine(tmp_path, RandomEmbedder(), scifact_papers(PAPERS))
    result = tune_fusion(engine.store, engine.embedder, engine.settings, query_papers=120)
    assert result.fixed == fixed_fusion(engine.settings) and result.fixed.method == "rrf"
    assert result.adopted and result.fusion == result.chosen != result.fixed
    assert result.chosen.keyword_weight > result.chosen.semantic_weight
    held = result.scores["held out"]
    assert held["chosen"] > held["fixed"] + 0.05, held  # on papers the choice never saw
    assert result.query_papers == 120 and result.queries == 360 and result.corpus == PAPERS
    assert result.candidates == len(grid())  # the fixed fusion is one of the grid's


def test_tuning_keeps_the_fixed_fusion_when_nothing_ranks_the_held_out_half_better(tmp_path: Path) -> None:
    engine = indexed_engine(tmp_path, HashingEmbedder(), scifact_papers(PAPERS))
    result = tune_fusion(engine.store, engine.embedder, engine.settings, query_papers=120)
    held = result.scores["held out"]
    if result.adopted:
        assert held["chosen"] > held["fixed"]
    else:
        assert result.fusion == result.fixed and held["chosen"] <= held["fixed"]


def test_known_item_ranks_are_those_the_fusion_gives(tmp_path: Path) -> None:
    papers = scifact_papers(150)
    embedder = HashingEmbedder()
    items, shortened = known_items(papers, count=20)
    indexed = [shortened.get(p.id, p) for p in papers]
    matrix = embedder.embed([document_text(p) for p in indexed])
    rankings = rank_known_items(items, indexed, [p.id for p in papers], matrix, embedder, folder=tmp_path / "kw")
    fusions = random.Random(3).sample(grid(), 25)
    ranks = rankings.ranks(fusions)
    for n, fusion in enumerate(fusions):
        for column, item in enumerate(items):
            fused = [pid for pid, _ in fusion.fuse(rankings.keyword[column][fusion.keyword_depth],
                                                   rankings.semantic[column][:fusion.semantic_depth])]
            expected = fused.index(item.paper_id) + 1 if item.paper_id in fused else 0
            assert ranks[n, column] == expected, (fusion, item)
    assert {item.kind for item in items} == {"title", "sentence", "key terms"}
    sentence = next(item for item in items if item.kind == "sentence")
    assert sentence.text not in shortened[sentence.paper_id].abstract  # held out of the indexed text


def test_retune_is_due_when_the_papers_have_grown_by_the_set_factor(tmp_path: Path) -> None:
    papers = scifact_papers(PAPERS)
    engine = indexed_engine(tmp_path, HashingEmbedder(), papers[:150], search_retune_growth=2.0)
    store, settings, model = engine.store, engine.settings, engine.embedder.name
    assert not tuning_due(store, settings, model)  # under MIN_PAPERS
    assert tuning_due(store, settings, model, min_papers=100)  # no tuning yet
    report = index_papers(engine, tune_search="now")
    assert report.tuning is not None and report.tuning.papers == 150
    assert load_tuning(store) == report.tuning
    assert not tuning_due(store, settings, model, min_papers=100)
    store.upsert_papers(papers[150:299])
    assert not tuning_due(store, settings, model, min_papers=100)  # 299 < 2 x 150
    store.upsert_papers(papers[299:300])
    assert tuning_due(store, settings, model, min_papers=100)
    assert tuning_due(store, settings, "another-model", min_papers=100)  # a tuning holds for its own model
    off = settings.model_copy(update={"search_tuning": False})
    assert not tuning_due(store, off, model, min_papers=100)
    report = index_papers(engine, tune_search="due")  # the default rule with MIN_PAPERS: not yet
    kept = load_tuning(store)
    assert report.tuning is None and kept is not None and kept.papers == 150


def test_search_uses_the_tuned_fusion_and_the_fixed_one_without(tmp_path: Path) -> None:
    engine = indexed_engine(tmp_path, HashingEmbedder(), scifact_papers(200))
    fixed = fixed_fusion(engine.settings)
    assert engine.fusion() == fixed  # nothing tuned yet
    query = "stem cells in the developing brain"
    keyword_only = Fusion("convex", keyword_weight=1.0, semantic_weight=0.0, keyword_depth=100, semantic_depth=50)
    result = tune_fusion(engine.store, engine.embedder, engine.settings, query_papers=60)
    result.fusion = keyword_only
    save_tuning(engine.store, result)
    engine.use_fusion(None)
    assert engine.fusion() == keyword_only
    keyword_hits = [h.id for h in engine.search(query, mode="keyword", limit=20)]
    assert [h.id for h in engine.search(query, limit=20)] == keyword_hits  # the semantic weight is 0
    off = SearchEngine(engine.store, engine.settings.model_copy(update={"search_tuning": False}),
                       embedder=engine.embedder, index_dir=engine.index_dir)
    assert off.fusion() == fixed
    other = SearchEngine(engine.store, engine.settings, embedder=RandomEmbedder(), index_dir=tmp_path / "other")
    assert other.fusion() == fixed  # tuned for another model
    engine.store.set_sync_state(STATE_KEY, {"written by": "another version"})
    engine.use_fusion(None)
    assert load_tuning(engine.store) is None and engine.fusion() == fixed


def test_stats_show_the_tuned_fusion_and_its_effect(tmp_path: Path) -> None:
    engine = indexed_engine(tmp_path, HashingEmbedder(), scifact_papers(200))

    def stats(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "paperscope", "--db", str(tmp_path / "tuning.db"), "stats",
                               *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert json.loads(stats("--json"))["search_tuning"] is None
    assert "search fusion: fixed (RRF k=60, keyword 1 / semantic 1, depths 100 / 100); not tuned yet" in stats()
    result = tune_fusion(engine.store, engine.embedder, engine.settings, query_papers=60)
    save_tuning(engine.store, result)
    shown = json.loads(stats("--json"))["search_tuning"]
    assert shown["fusion"] == result.fusion.to_json() and shown["model"] == "hashing-384"
    assert shown["scores"]["held out"] == result.scores["held out"] and shown["papers"] == 200
    assert set(shown["by_kind"]) == {"title", "sentence", "key terms"}
    held = result.scores["held out"]
    assert f"fixed {held['fixed']:.3f}, chosen {held['chosen']:.3f}" in stats()


@pytest.mark.parametrize("bad", [{"method": "mean"}, {"rrf_k": 0}, {"keyword_weight": -1.0}])
def test_a_fusion_refuses_what_it_cannot_do(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Fusion(**bad)  # type: ignore[arg-type]
