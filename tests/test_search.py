"""The search engine and its command line, on a store with a few real papers.

Engine logic (incremental indexing, filters, model change, bad input) runs with the deterministic
hashing embedder; the real model is exercised in tests/test_search_quality.py and tests/test_embed.py.
"""

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.errors import InputError, SearchUnavailable
from paperscope.index.hybrid import reciprocal_rank_fusion
from paperscope.index.search import SearchEngine
from paperscope.indexing import embed_pending, index_papers
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store, open_store
from tests.test_keyword_index import OPERATOR_QUERIES

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)


def paper(number: int, title: str, abstract: str, **fields: object) -> Paper:
    return Paper(id=f"2501.{number:05d}", title=title, abstract=abstract, sources=["jsonl"], **fields)  # type: ignore[arg-type]


PAPERS = [
    paper(1, "Novel Class Discovery in Tabular Data", "We estimate the number of novel classes in tables.",
          categories=["cs.LG"], authors=["Colin Troisemaine"], published=dt.date(2025, 1, 3)),
    paper(2, "Unsupervised Visual Features by Contrasting Cluster Assignments",
          "Swapped prediction of cluster assignments between image views.", categories=["cs.CV", "cs.LG"],
          authors=["Mathilde Caron"], published=dt.date(2025, 2, 10)),
    paper(3, "Local Graph Clustering with Noisy Labels", "Diffusion of noisy seed labels over a graph.",
          categories=["cs.SI"], authors=["Artur Back de Luca"], published=dt.date(2025, 3, 20)),
]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    """On each backend (conftest.py), with the indexes in the test's own folder."""
    return Settings(database_url=database_url, embedding_model="hashing", index_dir=str(tmp_path / "index"))


@pytest.fixture
def engine(settings: Settings) -> SearchEngine:
    store = open_store(settings.database_url)
    store.upsert_papers(PAPERS)
    built = SearchEngine(store, settings)
    index_papers(built)
    return built


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [hit.id for hit in hits]


def test_each_mode_finds_the_paper(engine: SearchEngine) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        assert ids(engine.search("novel class discovery", mode=mode, limit=3))[0] == "2501.00001", mode


def test_convex_fusion_is_a_setting(settings: Settings, engine: SearchEngine) -> None:
    convex = SearchEngine(engine.store, settings.model_copy(update={"fusion": "convex"}), embedder=engine.embedder)
    hits = convex.search("cluster assignments", limit=3)
    assert hits[0].id == "2501.00002" and hits[0].score <= 2.0  # normalised scores, not RRF's tiny ones
    with pytest.raises(ValueError):
        Settings(fusion="mean")


def test_hybrid_fuses_both_rankings(engine: SearchEngine) -> None:
    hits = engine.search("cluster assignments", mode="hybrid", limit=3)
    assert hits[0].id == "2501.00002"
    assert hits[0].keyword_rank == 1 and hits[0].semantic_rank is not None


def test_new_papers_are_found_without_a_rebuild_and_nothing_doubles(engine: SearchEngine) -> None:
    engine.store.upsert_papers([paper(4, "Probabilistic Partitive Partitioning", "Splitting k-means clusters.")])
    assert ids(engine.search("partitive", mode="keyword")) == ["2501.00004"]  # keyword index refreshes itself
    report = index_papers(engine)
    assert report.embedded == 1  # only the new paper is embedded
    assert "2501.00004" in ids(engine.search("partitive partitioning", mode="semantic", limit=4))
    engine.store.upsert_papers(PAPERS)  # the same input again
    assert index_papers(engine).embedded == 0
    assert engine.sizes(refresh=False) == (4, 4)


def test_concurrent_refreshes_fold_each_new_paper_in_once(settings: Settings, engine: SearchEngine,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app's request threads and its background jobs share one engine, with no lock of their own
    around it: refreshes that meet take turns, so none folds in what another already did, and the saved
    index stays whole."""
    new = [paper(100 + n, f"Spectral Clustering Variant {n}", f"Clusters of kind {n}.") for n in range(40)]
    engine.store.upsert_papers(new)
    embed_pending(engine)
    store = engine.store
    slow_latest, slow_modified = store.latest_embedding_time, store.papers_modified_since

    def latest_embedding_time(model: str) -> dt.datetime | None:
        time.sleep(0.05)  # every thread has read its watermark by now, unless refreshes take turns
        return slow_latest(model)

    def papers_modified_since(*args: object, **kwargs: object) -> Iterator[object]:
        time.sleep(0.05)
        yield from slow_modified(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "latest_embedding_time", latest_embedding_time)
    monkeypatch.setattr(store, "papers_modified_since", papers_modified_since)
    start = threading.Barrier(4)
    counts: list[tuple[int, int]] = []
    searches: list[list[str]] = []

    def refresh_then_search() -> None:
        start.wait()
        counts.append(engine.refresh())
        searches.append(ids(engine.search("spectral clustering variant", limit=50)))

    threads = [threading.Thread(target=refresh_then_search) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(k for k, _ in counts) == 40 and sum(v for _, v in counts) == 40
    assert engine.sizes(refresh=False) == (43, 43)
    assert all({p.id for p in new} <= set(found) for found in searches)  # each saw every new paper
    assert SearchEngine(store, settings, embedder=engine.embedder).sizes(refresh=False)[1] == 43  # saved whole


def test_searches_in_other_threads_while_a_refresh_folds_many_vectors_in(engine: SearchEngine) -> None:
    """Neither index locks anything itself: the engine's one lock lets searches in several threads meet the
    refreshes that add a thousand papers and vectors, each answering whole and none failing."""
    engine.store.upsert_papers([paper(1000 + n, f"Graph Partitioning Method {n}", f"Partitions of kind {n}.")
                                for n in range(1000)])
    embed_pending(engine)  # stored; the indexes fold them in at the next refresh
    errors: list[BaseException] = []
    answers: list[str] = []
    stop = threading.Event()

    def searcher() -> None:
        try:
            while not stop.is_set():
                answers.append(ids(engine.search("novel class discovery", limit=3))[0])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=searcher) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        engine.refresh()  # the searches' own refreshes may fold some or all of them in first
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not errors, errors[0]
    assert answers and set(answers) == {"2501.00001"}
    assert engine.sizes(refresh=False) == (1003, 1003)


def test_an_unusable_vector_index_file_is_built_again_from_the_store(settings: Settings, engine: SearchEngine,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """An index file from another paperscope version, or a damaged one, is only a cache of stored vectors."""
    if settings.search_url:
        pytest.skip("the embedded vector index's file: search on Milvus (PAPERSCOPE_SEARCH_URL) keeps none")
    path = engine.vectors.path
    assert path.exists()
    path.write_bytes(path.read_bytes()[:40])  # damaged (a truncated write, or another format)
    fresh = SearchEngine(engine.store, settings, embedder=engine.embedder)
    with caplog.at_level("WARNING"):
        hits = fresh.search("cluster assignments", mode="semantic", limit=3)
    assert ids(hits)[0] == "2501.00002" and len(fresh.vectors) == 3
    # The log says what is wrong and what the engine does about it (no command to run: nothing is left to do).
    assert "is truncated" in caplog.text and "Building it again" in caplog.text
    assert len(SearchEngine(engine.store, settings, embedder=engine.embedder).vectors) == 3  # saved again, whole


def test_changed_text_is_embedded_again(engine: SearchEngine) -> None:
    changed = paper(3, "Local Graph Clustering with Noisy Labels", "A different abstract.", version=2)
    engine.store.upsert_papers([changed])
    assert index_papers(engine).embedded == 1


def test_filters_and_pagination(engine: SearchEngine) -> None:
    assert ids(engine.search("clustering", filters=PaperFilter(category="cs.SI"))) == ["2501.00003"]
    later = PaperFilter(published_from=dt.date(2025, 2, 1))
    assert set(ids(engine.search("classes clusters labels", mode="keyword", filters=later))) == {
        "2501.00002", "2501.00003"}
    assert ids(engine.search("clustering", filters=PaperFilter(author="caron"))) == ["2501.00002"]
    assert engine.search("clustering", filters=PaperFilter(author="nobody")) == []
    everything = ids(engine.search("clustering classes graph", mode="keyword", limit=3))
    assert ids(engine.search("clustering classes graph", mode="keyword", limit=1, offset=1)) == everything[1:2]


def test_similar_papers_exclude_the_paper_itself(engine: SearchEngine) -> None:
    hits = engine.similar("arXiv:2501.00002v1", limit=5)
    assert "2501.00002" not in ids(hits) and len(hits) == 2
    with pytest.raises(InputError, match="No paper"):
        engine.similar("9999.99999")


@pytest.mark.parametrize("query", OPERATOR_QUERIES + ["x" * 10_000])
def test_bad_queries_give_results_or_nothing_never_an_error(engine: SearchEngine, query: str) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        try:
            assert isinstance(engine.search(query, mode=mode), list)
        except InputError as exc:  # only an empty query is refused, with a message
            assert "empty" in str(exc)


def test_empty_query_and_bad_mode_are_clear_errors(engine: SearchEngine) -> None:
    with pytest.raises(InputError, match="empty"):
        engine.search("  \x00 ")
    with pytest.raises(InputError, match="mode"):
        engine.search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_models_never_mix(settings: Settings, engine: SearchEngine) -> None:
    other = get_embedder("hashing")
    other.name = "hashing-other"  # a second model: its vectors live apart
    second = SearchEngine(engine.store, settings, embedder=other)
    with pytest.raises(SearchUnavailable, match="paperscope index"):
        second.search("clustering", mode="semantic")
    assert index_papers(second).embedded == 3
    models = engine.store.embedding_models()
    assert models["hashing-other"]["count"] == 3 and models[engine.embedder.name]["count"] == 3
    assert second.vectors.path != engine.vectors.path


def test_reembed_redoes_every_paper(engine: SearchEngine) -> None:
    assert index_papers(engine, reembed=True).embedded == 3


def test_cli_search_json_and_batch(tmp_path: Path, settings: Settings, engine: SearchEngine) -> None:
    runner = CliRunner()
    env = {"PAPERSCOPE_EMBEDDING_MODEL": "hashing", "PAPERSCOPE_INDEX_DIR": str(settings.index_dir)}
    db = settings.database_url
    result = runner.invoke(main, ["--db", db, "search", "graph clustering", "--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["results"][0]["id"] == "2501.00003"
    queries = tmp_path / "q.jsonl"
    queries.write_text('{"_id": "a", "text": "novel classes"}\nnot json\n{"_id": "b", "text": "graph"}\n',
                       encoding="utf-8")
    result = runner.invoke(main, ["--db", db, "search", "--queries", str(queries), "--limit", "2", "--json"],
                           env=env)
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["query_id"] for line in lines] == ["a", "b"]
    assert lines[0]["results"][0] == {"id": "2501.00001", "score": lines[0]["results"][0]["score"]}
    assert "line 2: skipped" in result.stderr
    empty = runner.invoke(main, ["--db", db, "search", ""], env=env)
    assert empty.exit_code == 1 and "empty" in empty.output


def test_cli_similar_and_index(settings: Settings, engine: SearchEngine) -> None:
    runner = CliRunner()
    env = {"PAPERSCOPE_EMBEDDING_MODEL": "hashing", "PAPERSCOPE_INDEX_DIR": str(settings.index_dir)}
    indexed = runner.invoke(main, ["--db", settings.database_url, "index"], env=env)
    assert indexed.exit_code == 0 and indexed.output.startswith("embedded 0 papers")
    result = runner.invoke(main, ["--db", settings.database_url, "similar", "2501.00001", "--json"], env=env)
    assert result.exit_code == 0
    assert len(json.loads(result.output)["results"]) == 2


def test_store_is_the_source_of_truth_for_filters(engine: SearchEngine) -> None:
    store: Store = engine.store
    assert store.filter_ids(PaperFilter(category="cs.LG")) == {"2501.00001", "2501.00002"}
    assert store.filter_ids(PaperFilter(published_to=dt.date(2025, 1, 31))) == {"2501.00001"}


def test_a_filter_gives_the_ranking_restricted_to_the_papers_it_passes_broad_or_narrow(settings: Settings) -> None:
    # 1,500 papers: cs.B (74 %) says "graph" often, cs.A (25 %) once in a longer text, cs.C (1 %) in between.
    # A broad filter is applied to a deeper ranking made without it; when too few of that ranking pass (cs.A
    # here), and for a narrow filter (cs.C), the filter's ids restrict the ranking instead. Either way the
    # answer is the unfiltered ranking with the papers the filter stops left out.
    def words(n: int) -> str:
        return " ".join(f"w{n}x{i}" for i in range(n % 17))

    papers = []
    for n in range(1500):
        category = "cs.C" if n % 100 == 7 else "cs.A" if n % 4 == 0 else "cs.B"
        text = {"cs.A": f"graph {words(n)} filler text", "cs.B": f"graph graph {words(n)}",
                "cs.C": f"graph graph {words(n)} note"}[category]
        papers.append(Paper(id=f"2502.{n:05d}", title=f"Paper {n}", abstract=text, categories=[category],
                            sources=["jsonl"]))
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers)
        engine = SearchEngine(store, settings)
        index_papers(engine)
        unfiltered = {mode: ids(engine.search("graph", mode=mode, limit=1500)) for mode in ("keyword", "semantic")}
        assert len(unfiltered["keyword"]) == len(unfiltered["semantic"]) == 1500
        for category in ("cs.B", "cs.A", "cs.C"):
            passing = store.filter_ids(PaperFilter(category=category))
            expected = {mode: [pid for pid in ranking if pid in passing] for mode, ranking in unfiltered.items()}
            expected["hybrid"] = [pid for pid, _ in reciprocal_rank_fusion(
                [expected["keyword"][:100], expected["semantic"][:100]], k=settings.rrf_k,
                weights=[settings.keyword_weight, settings.semantic_weight])]  # the fusion of the lists restricted
            for mode in ("keyword", "semantic", "hybrid"):
                got = engine.search("graph", mode=mode, limit=40, offset=5, filters=PaperFilter(category=category))
                assert ids(got) == expected[mode][5:45], (mode, category)
