"""Per-user signal mixes (recommend/mix.py): chosen from the library, kept until it changes, named in reasons."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.recommend import Corpus, Recommender, Signals
from paperscope.recommend.mix import DEFAULT_MIX, MIXES, MixChooser, library_key
from paperscope.recommend.rankers import fit_tfidf
from paperscope.store import Store, open_store
from tests.conftest import FIXTURES

WORDS = ["kinase", "phosphorylation", "substrate", "signalling", "receptor", "ligand", "cascade", "inhibitor"]
GENERIC = ["cell", "patients", "study", "protein", "expression", "clinical", "tissue", "response", "levels",
           "analysis", "model", "data", "results", "effect", "human", "mice", "gene", "disease", "risk", "treatment"]


def _world(words_define_it: bool, seed: int = 0) -> tuple[Corpus, np.ndarray, np.ndarray]:
    """300 papers, the first 60 of the user's interest. When `words_define_it`, the interest's papers share
    words of their own and the text model's vectors are noise (a field the model never learnt); otherwise the
    words are everyone's and the interest's vectors cluster apart. Returns the corpus, the library (30
    interest papers) and the candidates (the papers of no interest)."""
    rng = np.random.default_rng(seed)
    n, dim = 300, 16
    if words_define_it:
        vectors = rng.normal(size=(n, dim))
    else:
        region = np.r_[np.zeros(60, dtype=int), rng.integers(1, 6, size=n - 60)]
        vectors = np.eye(dim)[region] * 4 + rng.normal(size=(n, dim)) * 0.6
    vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    texts = [" ".join(rng.choice(WORDS if words_define_it and i < 60 else GENERIC, size=4)) + " "
             + " ".join(rng.choice(GENERIC, size=12)) for i in range(n)]
    _, tfidf, terms = fit_tfidf(texts)
    return Corpus([f"p{i}" for i in range(n)], vectors, tfidf, terms), np.arange(0, 30), np.arange(60, n)


def _words_share(weights: dict[str, float]) -> float:
    return weights["words"] / (weights["model"] + weights["words"] + weights["graph"])


def test_a_library_that_words_explain_gets_a_mix_with_more_tfidf() -> None:
    by_words = MixChooser().choose(*_signals(words_define_it=True))
    by_model = MixChooser().choose(*_signals(words_define_it=False))
    assert by_words.chosen and by_model.chosen
    assert by_words.weights["words"] > 0 and by_words.weights in MIXES
    assert by_model.weights["words"] == 0  # the words add nothing the model and the graph do not rank already
    assert _words_share(by_words.weights) > _words_share(by_model.weights)
    assert by_words.quality is not None and by_words.default_quality is not None
    assert by_words.quality > by_words.default_quality  # the words lifted the held-out papers above the default


def _signals(words_define_it: bool) -> tuple[Corpus, Signals]:
    corpus, library, candidates = _world(words_define_it)
    return corpus, Signals(library, np.arange(0), candidates, pool=candidates)


def test_a_small_library_gets_the_default_mix() -> None:
    corpus, library, candidates = _world(True)
    mix = MixChooser().choose(corpus, Signals(library[:5], np.arange(0), candidates))
    assert not mix.chosen and mix.weights == DEFAULT_MIX


@pytest.fixture
def site(tmp_path: Path) -> tuple[Store, Settings]:
    settings = Settings(database_url=str(tmp_path / "r.db"), embedding_model="hashing")
    store = open_store(settings.database_url)
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    index_papers(SearchEngine(store, settings))
    return store, settings


SPEECH = [f"2601.{n:05d}" for n in range(7, 12)]
ROBOTS = [f"2601.{n:05d}" for n in range(12, 17)]


@pytest.mark.search_backend
def test_the_mix_is_kept_until_the_library_changes_and_reasons_name_its_signals(site: tuple[Store, Settings]
                                                                                ) -> None:
    store, settings = site
    user = store.accounts.create_user("ada@example.org")
    store.accounts.set_library_state(user.id, SPEECH[:2], "saved")
    store.accounts.set_library_state(user.id, ROBOTS[:1], "hidden")
    recommender = Recommender(store, settings)
    first = recommender.recommend(user.id, limit=5)
    stored = store.accounts.signal_mix(user.id)
    assert stored is not None and stored[0] == library_key(SPEECH[:2], ROBOTS[:1])
    assert stored[1]["chosen"] is False and stored[1]["weights"] == DEFAULT_MIX  # two papers: the default
    assert first[0].why.signals and set(first[0].why.signals) <= {"model", "graph"}
    assert "carried by" in first[0].why.text() and first[0].as_dict()["reasons"]["signals"] == first[0].why.signals

    # A mix stored for this very library is used as it is: nothing is chosen again.
    words_only = {"model": 0.0, "words": 1.0, "graph": 0.0, "citations": 0.0}
    store.accounts.save_signal_mix(user.id, stored[0], {"weights": words_only, "chosen": True})
    again = Recommender(store, settings).recommend(user.id, limit=5)
    assert all(r.why.signals == ["words"] for r in again)
    assert "carried by shared words (TF-IDF)" in again[0].why.text()

    # A changed library chooses again (still the default: three papers).
    store.accounts.set_library_state(user.id, SPEECH[2:3], "saved")
    changed = Recommender(store, settings).recommend(user.id, limit=5)
    stored = store.accounts.signal_mix(user.id)
    assert stored is not None and stored[0] == library_key(SPEECH[2:3] + SPEECH[:2], ROBOTS[:1])
    assert stored[1]["weights"] == DEFAULT_MIX and "words" not in changed[0].why.signals
    store.close()
