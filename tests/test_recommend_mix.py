"""Per-user signal mixes (recommend/mix.py): chosen from the library beside the instance's other users, kept until
the library changes, named in reasons."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.recommend import Corpus, Recommender, Signals
from paperscope.recommend.mix import (
    DEFAULT_MIX,
    FOLDS,
    MIXES,
    PRIOR_FOLDS,
    REPEATS,
    InstancePrior,
    MixChooser,
    library_key,
    mix_key,
    words_ranker,
)
from paperscope.recommend.rankers import fit_tfidf
from paperscope.store import Store, open_store
from tests.conftest import FIXTURES
from tests.test_recommend import read_listing

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


def test_a_small_library_gets_the_instances_mix_once_enough_users_weighed_theirs() -> None:
    corpus, library, candidates = _world(True)
    small = Signals(library[:5], np.arange(0), candidates)
    chooser = MixChooser()
    mix = chooser.choose(corpus, small)
    assert not mix.chosen and mix.weights == DEFAULT_MIX and not mix.evidence  # alone: the default

    words = next(w for w in MIXES if w["words"] == 2.0 and w["citations"] == 1.0)
    instance = InstancePrior()
    for user in range(3):  # 18 folds: fewer than PRIOR_FOLDS, so not yet the instance's say
        instance.put(user, {mix_key(DEFAULT_MIX): [0.4] * 6, mix_key(words): [0.6] * 6})
    assert chooser.choose(corpus, small, prior=instance.for_user("small")).weights == DEFAULT_MIX
    instance.put(3, {mix_key(DEFAULT_MIX): [0.4] * 6, mix_key(words): [0.6] * 6})
    leaned = chooser.choose(corpus, small, prior=instance.for_user("small"))
    assert leaned.weights == words and not leaned.chosen
    assert chooser.repick(mix, instance.for_user("small")).weights == words  # a stored small library's too


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


def test_the_words_signal_reads_arxiv_sanitys_vocabulary_and_ranks_a_real_category_by_it() -> None:
    """A real listing: words split at hyphens; the words signal keeps the terms in 5 papers or more and in at most
    a tenth of them (arxiv-sanity's vocabulary), its rows of unit length, and its SVM ranks a cs.CL library's
    category above the rest, also for a followed search alone (whose TF-IDF row is cut to the same terms)."""
    records = read_listing("2025-04-15.jsonl", ("cs.CV", "cs.CL", "cs.AI", "cs.LG", "cs.IR"), 40)
    texts = [f"{r['title']} {r['summary']}" for r in records]
    vectorizer, tfidf, terms = fit_tfidf(texts)
    assert tfidf is not None and terms is not None
    hyphenated = next(t for text in texts for t in text.lower().split() if t.strip(".,;:()").count("-") == 1
                      and all(part.isalpha() and len(part) > 2 for part in t.strip(".,;:()").split("-")))
    first, second = hyphenated.strip(".,;:()").split("-")
    analysed = vectorizer.build_analyzer()(hyphenated)
    assert first in analysed or second in analysed, (hyphenated, analysed)
    assert not any("-" in term for term in terms)
    corpus = Corpus([str(r["id"]) for r in records], np.zeros((len(records), 4), dtype=np.float32), tfidf, terms)
    words = words_ranker()
    features = words.features(corpus, np.arange(len(records)))
    document_frequency = np.asarray((features > 0).sum(axis=0)).ravel()
    assert 0 < features.shape[1] < tfidf.shape[1] and features.shape[1] <= 20_000
    assert document_frequency.max() <= 0.1 * len(records)  # (min_df 5 applies from 1,000 papers on)
    norms = np.sqrt(np.asarray(features.multiply(features).sum(axis=1)).ravel())
    assert np.allclose(norms[norms > 0], 1.0) and (norms > 0).mean() > 0.95

    language = np.array([i for i, r in enumerate(records) if r["categories"][0] == "cs.CL"])
    library, rest = language[:15], np.setdiff1d(np.arange(len(records)), language[:15])
    relevant = np.isin(rest, language)  # 25 of 105, a quarter
    for signals in (Signals(library, np.arange(0), rest),
                    Signals(np.arange(0), np.arange(0), rest, query_vectors=np.zeros((1, 4), dtype=np.float32),
                            query_tfidf=vectorizer.transform(["language models translation text reasoning"]).tocsr())):
        scores = words.scores(corpus, signals)
        top = np.argsort(-scores)[:20]
        assert relevant[top].mean() >= 0.45, [records[rest[i]]["categories"] for i in top]  # twice the share


def test_the_other_users_evidence_leans_a_choice_unless_the_library_clearly_says_otherwise() -> None:
    """A user's folds are pooled with the instance's mean quality of each mix (the other users' only), counted as
    up to PRIOR_FOLDS folds; the prior rests on no more folds than the other users gave."""
    words = next(w for w in MIXES if w["words"] == 2.0 and w["citations"] == 1.0)
    default_key, words_key = mix_key(DEFAULT_MIX), mix_key(words)
    instance = InstancePrior()
    for user in range(5):  # five users of a field the words explain: words lift their held-out papers by 0.2
        instance.put(user, {default_key: [0.4] * 6, words_key: [0.6] * 6})
    instance.put("me", {default_key: [0.9] * 6, words_key: [0.1] * 6})
    prior = instance.for_user("me")
    assert prior[words_key] == pytest.approx((0.6, 30)) and prior[default_key] == pytest.approx((0.4, 30))
    assert instance.for_user(0)[words_key] == pytest.approx(((0.6 * 4 + 0.1) / 5, 30))

    chooser = MixChooser()
    slightly_default = [(dict(DEFAULT_MIX), np.full(6, 0.52)), (words, np.full(6, 0.50))]
    clearly_default = [(dict(DEFAULT_MIX), np.full(6, 0.9)), (words, np.full(6, 0.1))]
    assert chooser.pick(slightly_default).weights == DEFAULT_MIX  # alone, the user's own folds decide
    leaned = chooser.pick(slightly_default, prior=prior)
    assert leaned.weights == words and leaned.quality == pytest.approx(0.50)  # quality: the user's own folds
    assert chooser.pick(clearly_default, prior=prior).weights == DEFAULT_MIX
    # One other user's six folds weigh as six, not PRIOR_FOLDS.
    assert PRIOR_FOLDS > 6
    few = InstancePrior()
    few.put(1, {default_key: [0.4] * 6, words_key: [0.6] * 6})
    lean = [(dict(DEFAULT_MIX), np.full(6, 0.58)), (words, np.full(6, 0.40))]  # pooled: 0.49 against 0.50
    assert chooser.pick(lean, prior=few.for_user(2)).weights == words
    assert chooser.pick(lean, prior={k: (v[0], 1) for k, v in few.for_user(2).items()}).weights == DEFAULT_MIX

    # A user leaving the instance (evidence replaced by none) leaves the prior.
    instance.put(0, {})
    assert instance.for_user("me")[words_key] == pytest.approx((0.6, 24))


def test_a_gain_the_folds_disagree_on_keeps_the_default_mix() -> None:
    """With `std_errors`, the best mix replaces the default only when its gain over the folds exceeds that many
    standard errors of it (measured in decision 0118; the shipped rule keeps the best mean)."""
    words = next(w for w in MIXES if w["words"] == 1.0 and w["citations"] == 1.0)
    default = np.full(6, 0.5)
    noisy = [(dict(DEFAULT_MIX), default), (words, np.array([0.9, 0.2, 0.5, 0.9, 0.2, 0.5]))]  # +0.033 on average
    steady = [(dict(DEFAULT_MIX), default), (words, np.array([0.56, 0.54, 0.55, 0.55, 0.57, 0.53]))]
    chooser = MixChooser(std_errors=1.0)
    assert chooser.pick(noisy).weights == DEFAULT_MIX
    assert chooser.pick(steady).weights == words
    assert chooser.pick(noisy, std_errors=0.0).weights == words  # the shipped rule: the best mean wins


def test_the_choice_holds_out_each_paper_once_per_repeat() -> None:
    corpus, signals = _signals(words_define_it=True)
    chooser = MixChooser()
    qualities = chooser.held_out_quality(corpus, signals)
    assert REPEATS >= 2 and all(len(aps) == FOLDS * REPEATS for _, aps in qualities)
    folds = chooser.fold_scores(corpus, signals, seed=1)
    held_out = np.concatenate([labels for _, _, labels in folds])
    assert held_out.sum() == len(signals.positives)  # every library paper held out once in a repeat


@pytest.mark.search_backend
def test_a_recommender_picks_a_stored_library_mix_again_from_the_other_users_evidence(site: tuple[Store, Settings]
                                                                                      ) -> None:
    """Ada's stored evidence leans slightly to the default; once Bob's library (stored in another process, read
    when the recommender starts) says the words carry this instance's papers, Ada's ranking weighs the words too."""
    store, settings = site
    ada, bob = store.accounts.create_user("ada@example.org"), store.accounts.create_user("bob@example.org")
    store.accounts.set_library_state(ada.id, SPEECH[:3], "saved")
    words = next(w for w in MIXES if w["words"] == 2.0 and w["citations"] == 1.0)
    ada_evidence = {mix_key(DEFAULT_MIX): [0.52] * 6, mix_key(words): [0.50] * 6}
    store.accounts.save_signal_mix(ada.id, library_key(SPEECH[:3], []),
                                   {"weights": DEFAULT_MIX, "chosen": True, "evidence": ada_evidence})
    alone = Recommender(store, settings).recommend(ada.id, limit=5)
    assert all("words" not in r.why.signals for r in alone)

    store.accounts.save_signal_mix(bob.id, "bob's library", {"weights": words, "chosen": True, "evidence": {
        mix_key(DEFAULT_MIX): [0.3] * 6, mix_key(words): [0.7] * 6}})
    recommender = Recommender(store, settings)
    assert recommender.instance().for_user(ada.id)[mix_key(words)] == pytest.approx((0.7, 6))
    leaned = recommender.recommend(ada.id, limit=5)
    assert any("words" in r.why.signals for r in leaned)
    stored = store.accounts.signal_mix(ada.id)
    assert stored is not None and stored[1]["evidence"] == ada_evidence  # the evidence stays the library's

    # A library too small to weigh gets the instance's mix once four users' libraries (24 folds) say so.
    carol = store.accounts.create_user("carol@example.org")
    store.accounts.set_library_state(carol.id, SPEECH[3:5], "saved")
    assert all("words" not in r.why.signals for r in Recommender(store, settings).recommend(carol.id, limit=5))
    for name in ("dan", "eve", "fay"):
        other = store.accounts.create_user(f"{name}@example.org")
        store.accounts.save_signal_mix(other.id, f"{name}'s library", {"weights": words, "chosen": True, "evidence": {
            mix_key(DEFAULT_MIX): [0.3] * 6, mix_key(words): [0.7] * 6}})
    assert any("words" in r.why.signals for r in Recommender(store, settings).recommend(carol.id, limit=5))
    store.close()

    # `paperscope stats` shows what the instance's libraries lean to: both users' mean held-out quality per mix.
    shown = CliRunner().invoke(main, ["--db", settings.database_url, "stats", "--json"],
                               env={"PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    assert shown.exit_code == 0, shown.output
    mix = json.loads(shown.output)["recommendation_mix"]
    assert mix["users"] == 5 and mix["leaning"] == words  # Ada, Bob, Dan, Eve and Fay; Carol's is too small
    assert {json.dumps(m["weights"]): (m["quality"], m["folds"]) for m in mix["mixes"]} == {
        json.dumps(DEFAULT_MIX): (0.344, 30), json.dumps(words): (0.66, 30)}
    text = CliRunner().invoke(main, ["--db", settings.database_url, "stats"]).output
    assert "recommendation signals: 5 libraries weighed; the instance leans to model 1, words 2, graph 1" in text
