"""Recommendations: rankers on synthetic clusters, the store-backed recommender, reasons and cold start."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from paperscope.cli.hints import cli_message
from paperscope.config import Settings
from paperscope.errors import InputError, NothingToGoOn
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.recommend import (
    Corpus,
    FusedRanker,
    GraphRanker,
    LinearRanker,
    RankFusion,
    Recommender,
    Signals,
)
from paperscope.recommend.rankers import fit_tfidf, knn_graph
from paperscope.store import Store, open_store
from paperscope.store.topics import Assignment, TopicRecord
from tests.conftest import FIXTURES, shared_path

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
                                    FusedRanker([LinearRanker(), GraphRanker()]),
                                    RankFusion([LinearRanker(), GraphRanker()])],
                         ids=["linear", "graph", "graph-shortlist", "fused", "rank-fusion"])
def test_every_ranker_puts_the_library_cluster_first(ranker: object) -> None:
    corpus = clusters()
    library = np.arange(0, 8)  # cluster 0
    hidden = np.arange(40, 44)  # cluster 1
    candidates = np.concatenate([np.arange(20, 40), np.arange(60, 80), np.arange(100, 120)])
    scores = ranker.scores(corpus, Signals(library, hidden, candidates))  # type: ignore[attr-defined]
    assert scores.shape == candidates.shape and np.isfinite(scores).all()
    top = candidates[np.argsort(-scores)[:20]]
    assert (top < 40).mean() >= 0.9


def test_tfidf_only_linear_ranker_reads_the_words_not_the_vectors() -> None:
    """With `use_embeddings=False` the SVM sees TF-IDF alone: random vectors do not matter, the words do,
    for a library and for a followed search's TF-IDF row."""
    rng = np.random.default_rng(2)
    pools = [["graph", "node", "edge", "spectral", "clustering", "walk"],
             ["speech", "audio", "acoustic", "speaker", "phoneme", "prosody"]]
    texts = [" ".join(rng.choice(pools[i // 30], size=8)) + " method results paper" for i in range(60)]
    _, tfidf, terms = fit_tfidf(texts)
    vectors = rng.normal(size=(60, 16)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    corpus = Corpus([f"p{i}" for i in range(60)], vectors, tfidf, terms)
    candidates = np.arange(10, 60)
    ranker = LinearRanker(c=0.01, use_embeddings=False)
    scores = ranker.scores(corpus, Signals(np.arange(0, 10), np.arange(0), candidates))
    assert (candidates[np.argsort(-scores)[:15]] < 30).all()
    shuffled = Corpus(corpus.ids, vectors[rng.permutation(60)], tfidf, terms)
    assert np.allclose(LinearRanker(c=0.01, use_embeddings=False).scores(
        shuffled, Signals(np.arange(0, 10), np.arange(0), candidates)), scores, atol=1e-4)
    assert tfidf is not None
    follow = Signals(np.arange(0), np.arange(0), candidates, query_vectors=vectors[:1],
                     query_tfidf=tfidf[[45]])  # a search made of the speech words
    scores = ranker.scores(corpus, follow)
    assert (candidates[np.argsort(-scores)[:15]] >= 30).all()


@pytest.mark.parametrize("contrast", [True, False], ids=["contrast", "sinks"])
def test_hidden_papers_push_their_region_down(contrast: bool) -> None:
    """Two clusters equally near the library: the one holding hidden papers ranks below the other."""
    rng = np.random.default_rng(1)
    base = np.zeros(8)
    base[0] = 1
    left, right = base.copy(), base.copy()
    left[1], right[2] = 0.8, 0.8
    rows = np.vstack([base + 0.3 * rng.normal(size=(6, 8)),  # the library
                      left + 0.3 * rng.normal(size=(30, 8)), right + 0.3 * rng.normal(size=(30, 8)),
                      left + 0.3 * rng.normal(size=(10, 8)), right + 0.3 * rng.normal(size=(10, 8))])  # others
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


def test_the_graph_shared_by_a_run_is_the_graph_built_for_one_user() -> None:
    """Users ranked one after another among the same papers get the scores a fresh ranker gives each."""
    corpus = clusters(per_cluster=60)
    candidates = np.concatenate([np.arange(40, 60), np.arange(100, 120), np.arange(160, 180)])
    users = [Signals(np.arange(0, 8), np.arange(60, 64), candidates),
             Signals(np.arange(60, 70), np.arange(0, 3), candidates[5:], pool=candidates),
             Signals(np.array([1, 41, 120]), np.arange(0), candidates[:-3], pool=candidates)]  # marks in the pool
    shared = GraphRanker(background=30)
    for user in users + users[:1]:
        alone = GraphRanker(background=30, reuse_graph=False).scores(corpus, user)
        assert np.allclose(shared.scores(corpus, user), alone)
    assert len(shared._shared) == 1  # noqa: SLF001 (one period, built once)
    reference = knn_graph(corpus.vectors[np.concatenate([np.arange(0, 8), candidates])], 30, 5.0)
    plain = GraphRanker(contrast=False)  # no background: the nodes are the library and the candidates
    merged = plain._user_graph(corpus, plain._shared_graph(corpus, candidates, False),  # noqa: SLF001
                               corpus.vectors[np.arange(0, 8)], None)
    assert abs(reference - merged).max() < 1e-6  # merging the user's nodes into cached lists is exact


@pytest.fixture
def site(tmp_path: Path) -> tuple[Store, Settings]:
    settings = Settings(database_url=str(tmp_path / "r.db"), embedding_model="hashing")
    store = open_store(settings.database_url)
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    index_papers(SearchEngine(store, settings))
    return store, settings


@pytest.mark.search_backend
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


@pytest.mark.search_backend
def test_a_tag_ranks_from_its_own_papers_alone(site: tuple[Store, Settings]) -> None:
    store, settings = site
    user = store.accounts.create_user("tess@example.org")
    accounts = store.accounts
    accounts.set_library_state(user.id, [*GRAPH[:3], SPEECH[0]], "saved")
    store.digests.follow(user.id, "query", "graph clustering")
    for paper_id in ROBOTS[:2]:
        accounts.add_tag(user.id, paper_id, "robots")
    recommender = Recommender(store, settings)
    mixed = [r.id for r in recommender.recommend(user.id, limit=3)]
    assert set(mixed) & set(GRAPH[3:])  # the whole library (tagged papers are saved too) and the follow
    tagged = recommender.recommend(user.id, limit=3, tag="robots")
    assert {r.id for r in tagged} == set(ROBOTS[2:])  # the tag's papers alone steer it
    assert {c.id for c in tagged[0].why.closest} <= set(ROBOTS[:2])
    assert "among your papers tagged \u201crobots\u201d" in tagged[0].why.text()
    assert "graph clustering" not in tagged[0].why.text()  # follows do not steer a tag's ranking
    wide = {r.id for r in recommender.recommend(user.id, limit=20, tag="robots")}
    assert not wide & {*GRAPH[:3], SPEECH[0], *ROBOTS[:2]}  # never a library paper, tagged or not
    with pytest.raises(InputError, match="no tag \u201cspeech\u201d.*\u201crobots\u201d"):
        recommender.recommend(user.id, tag="speech")
    accounts.set_library_state(user.id, ROBOTS[:2], "hidden")
    with pytest.raises(InputError, match="not interested"):
        recommender.recommend(user.id, tag="robots")
    store.close()


@pytest.mark.search_backend
def test_cold_start_from_a_followed_search_and_author(site: tuple[Store, Settings]) -> None:
    store, settings = site
    user = store.accounts.create_user("bob@example.org")
    recommender = Recommender(store, settings)
    with pytest.raises(NothingToGoOn, match="nothing to recommend from") as caught:
        recommender.recommend(user.id)
    assert "paperscope library add" in cli_message(caught.value)
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


def save_topics(store: Store, model: str, members: dict[str, list[str]], *, first_id: int = 1) -> dict[str, int]:
    """A topic map through the store's API (the topics stage builds real ones): one topic per named group of
    papers, each paper scored by its cosine to the group's centre, so "most central" means what it says."""
    ids, vectors = store.load_embeddings(model)
    row = {pid: i for i, pid in enumerate(ids)}
    records, assignments, numbers = [], [], {}
    for number, (label, papers) in enumerate(members.items(), start=first_id):
        block = vectors[[row[p] for p in papers]]
        centre = block.mean(axis=0)
        centre /= np.linalg.norm(centre)
        scores = block @ centre
        assignments += [Assignment(p, number, float(c)) for p, c in zip(papers, scores, strict=True)]
        records.append(TopicRecord(id=number, label=label, keywords=[label], representative_ids=papers[:3],
                                   size=len(papers), cohesion=float(scores.mean()), centroid=centre))
        numbers[label] = number
    store.topics.save_map(model, records, assignments, params={"method": "by hand (test)"})
    return numbers


@pytest.mark.search_backend
def test_a_followed_topic_seeds_the_ranking_beside_the_library(site: tuple[Store, Settings]) -> None:
    store, settings = site
    topics = save_topics(store, "hashing-384", {"graphs": GRAPH, "speech": SPEECH, "robots": ROBOTS})
    user = store.accounts.create_user("cy@example.org")
    store.accounts.set_library_state(user.id, GRAPH[:1], "saved")
    store.digests.follow(user.id, "topic", str(topics["robots"]))
    results = Recommender(store, settings).recommend(user.id, limit=10)
    ids = [r.id for r in results]
    assert set(ROBOTS) <= set(ids) and set(GRAPH[1:3]) & set(ids)  # the topic joins the library, no filter
    assert not set(ids[:10]) & {GRAPH[0]}
    robot = next(r for r in results if r.id in ROBOTS)
    assert "your followed topic \u201crobots\u201d" in robot.why.text() and robot.why.topic == "robots"
    graph = next(r for r in results if r.id in GRAPH)
    assert "followed topic" not in graph.why.text() and graph.why.topic == "graphs"
    store.close()


@pytest.mark.search_backend
def test_a_cold_start_user_who_follows_a_topic_gets_that_topics_papers(tmp_path: Path) -> None:
    """The real model on real arXiv listings: a topic map of one day's papers (a topic per main category),
    a user with an empty library who follows one topic, and the next listing's papers to rank."""
    day_one = read_listing("2025-05-23.jsonl", ("cs.CV", "cs.CL", "cs.LG"), 25)
    day_two = [r for r in read_listing("2025-06-04.jsonl", ("cs.CV", "cs.CL", "cs.LG"), 20)
               if r["id"] not in {d["id"] for d in day_one}]
    settings = Settings(database_url=str(tmp_path / "cold.db"), embedding_model="minilm")
    with open_store(settings.database_url) as store:
        for name, records in (("one", day_one), ("two", day_two)):
            path = tmp_path / f"{name}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in records))
            Ingester(store, settings).ingest(str(path))
        index_papers(SearchEngine(store, settings))
        groups = {c: [r["id"] for r in day_one if r["categories"][0] == c] for c in ("cs.CV", "cs.CL", "cs.LG")}
        recommender = Recommender(store, settings)
        topics = save_topics(store, recommender.embedder.name, {f"{c} papers": ids for c, ids in groups.items()})
        candidates = [r["id"] for r in day_two]
        category = {r["id"]: set(r["categories"]) for r in day_two}
        for followed in ("cs.CL", "cs.CV"):
            user = store.accounts.create_user(f"{followed}@example.org")
            store.digests.follow(user.id, "topic", str(topics[f"{followed} papers"]))
            picks = recommender.recommend(user.id, candidates=candidates, limit=10)
            on_topic = [p.id for p in picks if followed in category[p.id]]
            assert len(on_topic) >= 8, (followed, [(p.id, category[p.id]) for p in picks])
            assert picks[0].why.text()  # a reason even without a library: the shared terms
    assert len(day_two) >= 50


def read_listing(name: str, categories: tuple[str, ...], per_category: int) -> list[dict[str, object]]:
    """The first `per_category` papers of each main category in one real daily listing."""
    taken: dict[str, int] = {}
    seen: set[str] = set()
    records = []
    with shared_path("data", "arxiv", "cs", name).open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            main = record["categories"][0]
            if main in categories and taken.get(main, 0) < per_category and record["id"] not in seen:
                seen.add(record["id"])
                taken[main] = taken.get(main, 0) + 1
                records.append(record)
    return records


@pytest.mark.search_backend
def test_the_real_model_ranks_the_librarys_theme_first(tmp_path: Path) -> None:
    settings = Settings(database_url=str(tmp_path / "m.db"), embedding_model="minilm")
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        index_papers(SearchEngine(store, settings))
        user = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(user.id, GRAPH[:2], "saved")
        results = Recommender(store, settings).recommend(user.id, limit=4)
    assert {r.id for r in results} == set(GRAPH[2:])


@pytest.mark.search_backend
def test_a_tag_of_vision_papers_in_a_language_library_brings_vision_papers(tmp_path: Path) -> None:
    """Real listings and the real model: a library of computation-and-language papers with four computer-vision
    papers tagged "vision". The whole library's picks are language papers; the tag's picks are vision papers."""
    records = read_listing("2025-04-15.jsonl", ("cs.CV", "cs.CL"), 30)
    listing = tmp_path / "listing.jsonl"
    listing.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    settings = Settings(database_url=str(tmp_path / "tags.db"), embedding_model="minilm")
    field_of = {str(r["id"]): str(r["categories"][0]) for r in records}  # type: ignore[index]
    language = [i for i, f in field_of.items() if f == "cs.CL"][:12]
    vision = [i for i, f in field_of.items() if f == "cs.CV"][:4]
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(listing))
        index_papers(SearchEngine(store, settings))
        user = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(user.id, language, "saved")
        for paper_id in vision:
            store.accounts.add_tag(user.id, paper_id, "vision")
        recommender = Recommender(store, settings)
        whole = [field_of[r.id] for r in recommender.recommend(user.id, limit=10)]
        tagged = [field_of[r.id] for r in recommender.recommend(user.id, limit=10, tag="vision")]
    assert whole.count("cs.CL") >= 6, whole  # the library is three quarters language papers (7 of 10 measured)
    assert tagged.count("cs.CV") >= 7, tagged  # 8 of 10 measured


def _ingest_lines(store: Store, settings: Settings, lines: list[str], path: Path) -> None:
    path.write_text("\n".join(lines) + "\n")
    Ingester(store, settings).ingest(str(path))
    index_papers(SearchEngine(store, settings))


@pytest.mark.search_backend
def test_new_vectors_are_folded_into_the_corpus_without_reading_it_again(tmp_path: Path) -> None:
    lines = (FIXTURES / "digest_papers.jsonl").read_text().splitlines()
    settings = Settings(database_url=str(tmp_path / "fold.db"), embedding_model="hashing")
    with open_store(settings.database_url) as store:
        _ingest_lines(store, settings, lines[:13], tmp_path / "first.jsonl")
        recommender = Recommender(store, settings)
        before = recommender.load_corpus()
        assert recommender.is_current(before)
        _ingest_lines(store, settings, lines[13:], tmp_path / "later.jsonl")  # ROBOTS[2:]
        assert not recommender.is_current(before)
        after = recommender.load_corpus(before)
        assert after.vectorizer is before.vectorizer and after.folded == 3  # folded in, TF-IDF not fit anew
        assert after.corpus.ids[:13] == before.corpus.ids and set(after.corpus.ids[13:]) == set(ROBOTS[2:])
        assert len(before.corpus.ids) == 13 and before.corpus.tfidf.shape[0] == 13  # the old snapshot is untouched
        assert recommender.is_current(after)
        read_anew = Recommender(store, settings).load_corpus()
        for paper_id in read_anew.corpus.ids:
            assert np.array_equal(after.corpus.vectors[after.corpus.row[paper_id]],
                                  read_anew.corpus.vectors[read_anew.corpus.row[paper_id]])
        assert after.titles[ROBOTS[4]] == store.get_paper(ROBOTS[4]).title  # type: ignore[union-attr]
        user = store.accounts.create_user("dee@example.org")
        store.accounts.set_library_state(user.id, ROBOTS[:2], "saved")
        recommender.use(after)
        assert {r.id for r in recommender.recommend(user.id, limit=3)} == set(ROBOTS[2:])


@pytest.mark.search_backend
def test_the_corpus_is_read_anew_when_folded_rows_pass_the_refit_share(tmp_path: Path) -> None:
    lines = (FIXTURES / "digest_papers.jsonl").read_text().splitlines()
    settings = Settings(database_url=str(tmp_path / "refit.db"), embedding_model="hashing")
    with open_store(settings.database_url) as store:
        _ingest_lines(store, settings, lines[:8], tmp_path / "first.jsonl")
        recommender = Recommender(store, settings)
        before = recommender.load_corpus()
        _ingest_lines(store, settings, lines[8:], tmp_path / "later.jsonl")  # as many again: past REFIT_SHARE
        after = recommender.load_corpus(before)
        assert after.vectorizer is not before.vectorizer and after.folded == 0 and len(after.corpus.ids) == 16


def test_past_the_corpus_bound_the_corpus_is_the_newest_papers_and_the_marked_ones(tmp_path: Path) -> None:
    """With more papers stored than PAPERSCOPE_RECOMMEND_CORPUS_PAPERS, the corpus holds the newest that many and
    the papers users marked; a paper marked after the corpus was read is read by id for the ranking."""
    lines = (FIXTURES / "digest_papers.jsonl").read_text().splitlines()
    settings = Settings(database_url=str(tmp_path / "bounded.db"), embedding_model="hashing",
                        recommend_corpus_papers=8)
    with open_store(settings.database_url) as store:
        _ingest_lines(store, settings, lines[:8], tmp_path / "older.jsonl")  # GRAPH, SPEECH[:2]
        _ingest_lines(store, settings, lines[8:], tmp_path / "newer.jsonl")  # SPEECH[2:], ROBOTS
        ada = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(ada.id, SPEECH[:2], "saved")
        recommender = Recommender(store, settings, refresh_on_read=False)
        snapshot = recommender.load_corpus()
        recommender.use(snapshot)
        assert set(snapshot.corpus.ids) == {*SPEECH, *ROBOTS} and snapshot.window == 8
        assert set(recommender.period_candidates(ada.id)) == {*SPEECH[2:], *ROBOTS}
        results = recommender.recommend(ada.id, candidates=recommender.period_candidates(ada.id), limit=5)
        assert {r.id for r in results[:3]} == set(SPEECH[2:])
        assert {c.id for c in results[0].why.closest} <= set(SPEECH[:2]) and results[0].why.closest

        bob = store.accounts.create_user("bob@example.org")
        store.accounts.set_library_state(bob.id, GRAPH[:2], "saved")  # older than the corpus, saved after it
        picks = recommender.recommend(bob.id, candidates=recommender.period_candidates(bob.id), limit=3)
        assert picks and all({c.id for c in p.why.closest} <= set(GRAPH[:2]) and p.why.closest for p in picks)
        assert recommender.loaded is snapshot and len(snapshot.corpus.ids) == 10  # read for that ranking alone


def test_the_linear_ranker_scores_candidates_without_copying_them_into_a_sparse_matrix() -> None:
    """Scoring 20,000 candidates reads their vectors and TF-IDF rows as they are: the memory traced while
    ranking stays below twice the candidates' vectors (a sparse copy beside TF-IDF took over five times), and
    the scores are the fitted model's scores of the stacked features."""
    import tracemalloc

    import scipy.sparse as sp
    from sklearn.svm import LinearSVC

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(20_000, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    tfidf = sp.random(20_000, 2_000, density=0.01, format="csr", random_state=0)
    corpus = Corpus([f"p{i}" for i in range(20_000)], vectors, tfidf)
    signals = Signals(np.arange(20), np.arange(20, 23), np.arange(23, 20_000))
    ranker = LinearRanker(background=500)
    ranker.scores(corpus, signals)  # the background's features are made once per corpus, not measured here
    tracemalloc.start()
    scores = ranker.scores(corpus, signals)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 * vectors[signals.candidates].nbytes
    model = LinearSVC(C=0.5).fit(ranker.features(corpus, np.arange(600)), np.arange(600) < 300)
    expected = model.decision_function(ranker.features(corpus, signals.candidates))
    got = ranker.decision(model.coef_.ravel(), float(model.intercept_[0]), corpus, signals.candidates)
    assert np.allclose(got, expected, atol=1e-9) and scores.shape == expected.shape


def test_knn_lists_over_tfidf_are_the_exact_nearest_rows() -> None:
    """The split product (embeddings and frequent terms dense, the other terms sparse) gives the neighbours and
    cosines of the exact mean of embedding and TF-IDF cosines."""
    from paperscope.recommend.rankers import knn_lists

    texts = [f"graph clustering {w} seeds {v}" for w in ("noisy", "flow", "local", "spectral") for v in range(60)]
    _, tfidf, _ = fit_tfidf(texts + [f"speech {v} recognition audio" for v in range(200)])
    assert tfidf is not None
    vectors = clusters(per_cluster=147).vectors[:440]
    exact = 0.5 * vectors.astype(np.float64) @ vectors.T + 0.5 * (tfidf @ tfidf.T).toarray()
    np.fill_diagonal(exact, -np.inf)
    neighbours, similarity = knn_lists(vectors, 10, tfidf=tfidf, block=64)
    top = np.sort(exact, axis=1)[:, ::-1][:, :10]
    assert np.allclose(np.sort(similarity, axis=1)[:, ::-1], top, atol=1e-6)
    assert np.allclose(np.take_along_axis(exact, neighbours, axis=1), similarity, atol=1e-6)


@pytest.mark.search_backend
def test_a_ranking_reads_only_the_papers_it_shows_and_never_an_admins_hidden_one(tmp_path: Path) -> None:
    """Past the first batch down the ranking, candidates are not read from the store; a paper an admin hid is
    passed over for the next one."""
    import sqlalchemy as sa

    lines = (FIXTURES / "digest_papers.jsonl").read_text().splitlines()
    fillers = [json.dumps({"id": f"2602.{n:05d}", "title": f"Warehouse robot fleet {n} scheduling",
                           "summary": f"Robot fleets of {n} mobile robots pick orders in warehouses under deadlines.",
                           "authors": ["Rob Otter"], "categories": ["cs.RO"]}) for n in range(80)]
    settings = Settings(database_url=str(tmp_path / "shown.db"), embedding_model="hashing")
    with open_store(settings.database_url) as store:
        _ingest_lines(store, settings, lines + fillers, tmp_path / "papers.jsonl")
        ada = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(ada.id, SPEECH[:2], "saved")
        recommender = Recommender(store, settings)
        best = recommender.recommend(ada.id, limit=1)[0].id
        assert best in SPEECH[2:]
        store.moderation.hide_paper(best, actor_id=None)
        asked: list[int] = []

        def count(conn: object, cursor: object, statement: str, parameters: object, *_: object) -> None:
            if "FROM papers" in statement and "papers.id IN" in statement:
                asked.append(len(parameters))  # type: ignore[arg-type]

        sa.event.listen(store.accounts.engine, "before_cursor_execute", count)
        picks = recommender.recommend(ada.id, limit=1)
        sa.event.remove(store.accounts.engine, "before_cursor_execute", count)
        assert picks and picks[0].id != best and picks[0].id in SPEECH[2:]
        assert asked and max(asked) < 40  # of 94 candidates


def test_knn_lists_hold_one_block_of_similarities_at_a_time() -> None:
    """Memory traced while listing the neighbours of 6,000 rows stays near one block's similarities and their
    partition (about 75 MB), not every block's (over 300 MB)."""
    import tracemalloc

    from paperscope.recommend.rankers import knn_lists

    vectors = clusters(per_cluster=2_000).vectors
    tracemalloc.start()
    neighbours, _ = knn_lists(vectors, 30)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert neighbours.shape == (6_000, 30)
    assert peak < 150 * 2**20
