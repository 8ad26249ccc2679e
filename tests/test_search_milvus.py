"""Search on Milvus Lite (PAPERSCOPE_SEARCH_URL=milvus:///PATH.db) against the embedded indexes, on real data:
SciFact with its judgements for ranking quality, an arXiv cs listing for the filters.

Both engines read the same store (the same stored vectors), so any difference is the search backend's. These
tests skip with a message when pymilvus or milvus-lite is not installed (pip install 'paperscope[milvus]').
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ir_metrics import mean, ndcg_at_k, read_qrels
from paperscope.config import Settings
from paperscope.errors import SearchUnavailable
from paperscope.ids import derived_id
from paperscope.index.milvus import MilvusIndex, analysed
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import PaperFilter, Store, open_store
from tests.conftest import shared_path

QUERIES = 40
DISTRACTORS = 300


def milvus_lite_url(folder: Path) -> str:
    """A Milvus Lite file in `folder`, or skip saying what to install."""
    for module in ("pymilvus", "milvus_lite"):
        try:
            __import__(module)
        except ImportError:
            pytest.skip(f"{module} is not installed: search on Milvus is tested with Milvus Lite "
                        "(pip install 'paperscope[milvus]')")
    return f"milvus:///{folder / 'search.db'}"


def engines(store: Store, database: str, folder: Path, model: str) -> tuple[SearchEngine, SearchEngine]:
    """(embedded, Milvus) engines over one store, both indexed."""
    embedded = SearchEngine(store, Settings(database_url=database, embedding_model=model, search_url=None,
                                            index_dir=str(folder / "index")))
    index_papers(embedded)
    milvus = SearchEngine(store, Settings(database_url=database, embedding_model=model,
                                          search_url=milvus_lite_url(folder), index_dir=str(folder / "unused")),
                          embedder=embedded.embedder)
    index_papers(milvus)
    return embedded, milvus


@pytest.fixture(scope="module")
def scifact(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchEngine, SearchEngine, dict[str, str],
                                                                        dict[str, dict[str, int]]]]:
    """The relevant abstracts of 40 SciFact test queries among 300 others, embedded once with the real model."""
    root = shared_path("data", "scifact")
    folder = tmp_path_factory.mktemp("scifact-milvus")
    milvus_lite_url(folder)
    qrels = dict(list(read_qrels(root / "beir" / "qrels" / "test.tsv").items())[:QUERIES])
    wanted = {doc for rel in qrels.values() for doc in rel}
    lines = (root / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    chosen = [line for line in lines if json.loads(line)["id"] in wanted] + lines[:DISTRACTORS]
    corpus = folder / "corpus.jsonl"
    corpus.write_text("\n".join(dict.fromkeys(chosen)) + "\n", encoding="utf-8")
    texts = {json.loads(line)["_id"]: json.loads(line)["text"]
             for line in (root / "beir" / "queries.jsonl").read_text(encoding="utf-8").splitlines()}
    database = str(folder / "scifact.db")
    with open_store(database) as store:
        Ingester(store, Settings(database_url=database)).ingest(str(corpus))
        embedded, milvus = engines(store, database, folder, "minilm")
        yield embedded, milvus, {q: texts[q] for q in qrels}, qrels


def ndcg(engine: SearchEngine, queries: dict[str, str], qrels: dict[str, dict[str, int]], mode: str) -> float:
    return mean([ndcg_at_k([hit.id for hit in engine.search(text, mode=mode, limit=10)], qrels[q])  # type: ignore[arg-type]
                 for q, text in queries.items()])


def test_milvus_ranks_scifact_as_the_embedded_indexes_do(scifact: tuple[SearchEngine, SearchEngine, dict[str, str],
                                                                         dict[str, dict[str, int]]]) -> None:
    embedded, milvus, queries, qrels = scifact
    assert milvus.sizes() == embedded.sizes()
    scores = {(name, mode): ndcg(engine, queries, qrels, mode)
              for name, engine in (("embedded", embedded), ("milvus", milvus))
              for mode in ("keyword", "semantic", "hybrid")}
    # Both search the same vectors exactly; the keyword sides are two BM25 implementations over the same terms.
    assert abs(scores["milvus", "semantic"] - scores["embedded", "semantic"]) < 1e-6, scores
    assert abs(scores["milvus", "keyword"] - scores["embedded", "keyword"]) <= 0.03, scores
    assert abs(scores["milvus", "hybrid"] - scores["embedded", "hybrid"]) <= 0.02, scores
    assert scores["milvus", "hybrid"] >= 0.7, scores


@pytest.fixture(scope="module")
def arxiv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SearchEngine, SearchEngine, Store]]:
    """Two days of the arXiv cs listings and a Hugging Face daily papers response (the papers with dates),
    embedded with the deterministic hashing embedder."""
    listings = shared_path("data", "arxiv", "cs")
    files = [listings / "2025-03-28.jsonl", listings / "2025-05-13.jsonl",
             shared_path("data", "fixtures", "hf_daily_papers", "sotawhat_hf_daily_papers.json")]
    folder = tmp_path_factory.mktemp("arxiv-milvus")
    milvus_lite_url(folder)
    database = str(folder / "arxiv.db")
    with open_store(database) as store:
        Ingester(store, Settings(database_url=database)).ingest(*map(str, files))
        embedded, milvus = engines(store, database, folder, "hashing")
        yield embedded, milvus, store


FILTERS = [
    PaperFilter(category="cs.CV"),
    PaperFilter(category="cs.RO"),
    PaperFilter(published_from=dt.date(2026, 6, 8)),
    PaperFilter(published_to=dt.date(2026, 6, 5)),
    PaperFilter(published_from=dt.date(2026, 6, 5), published_to=dt.date(2026, 6, 8)),
    PaperFilter(author="chen"),
    PaperFilter(author="Qifeng Chen"),
    PaperFilter(author="chen qif"),
    PaperFilter(author="chen zhang"),  # many papers have a Chen and a Zhang, few an author with both names
    PaperFilter(category="cs.CL", author="li"),
    PaperFilter(published_from=dt.date(2026, 6, 1), author="wang"),
    PaperFilter(category="no.SUCH"),
    PaperFilter(author='x" or id != "'),  # quotes and operators are text, never expression
    PaperFilter(author="100%_"),
]


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_milvus_honours_the_filters_exactly(arxiv: tuple[SearchEngine, SearchEngine, Store],
                                            filters: PaperFilter) -> None:
    """Semantic search deep enough to reach every paper returns exactly the papers passing the filter, ranked as
    the embedded engine ranks them; keyword and hybrid hits all pass it."""
    embedded, milvus, store = arxiv
    passing = store.filter_ids(filters)
    query = "robot learning from images"
    everything = milvus.search(query, mode="semantic", limit=1000, filters=filters)
    assert {hit.id for hit in everything} == passing
    baseline = embedded.search(query, mode="semantic", limit=10, filters=filters)
    # The same scores in the same order (papers of equal score may come in either order).
    assert [hit.score for hit in everything[:10]] == pytest.approx([hit.score for hit in baseline], abs=1e-5)
    for mode in ("keyword", "hybrid"):
        hits = milvus.search(query, mode=mode, limit=50, filters=filters)  # type: ignore[arg-type]
        assert {hit.id for hit in hits} <= passing
        assert bool(hits) == bool(embedded.search(query, mode=mode, limit=50, filters=filters))  # type: ignore[arg-type]


def test_a_paper_changed_in_the_store_changes_in_milvus(arxiv: tuple[SearchEngine, SearchEngine, Store]) -> None:
    """The writer's refresh upserts changed papers: new words are found, old ones no longer."""
    _embedded, milvus, store = arxiv
    paper = next(store.iter_papers())
    store.upsert_papers([dataclasses.replace(paper, abstract="Zygomorphic quokkas navigate hyperbolic mazes.",
                                             version=(paper.version or 1) + 1)])
    index_papers(milvus)
    assert [hit.id for hit in milvus.search("quokkas", mode="keyword")] == [paper.id]
    title_terms = analysed(paper.title).split()
    gone = next(word for word in re.findall(r"[a-z]{9,}", paper.abstract.lower()) if analysed(word) not in title_terms)
    assert paper.id not in {hit.id for hit in milvus.search(gone, mode="keyword", limit=1000)}


def test_a_paper_merged_into_another_leaves_milvus(tmp_path: Path) -> None:
    """A title-only record absorbed by the arXiv record of the same paper: its row goes with it."""
    database = str(tmp_path / "merge.db")
    title = "Probabilistic Partitive Partitioning"
    with open_store(database) as store:
        store.upsert_papers([Paper(id=derived_id(title), title=title, abstract="Splitting clusters.",
                                   sources=["bibtex"])])
        settings = Settings(database_url=database, embedding_model="hashing", search_url=milvus_lite_url(tmp_path))
        engine = SearchEngine(store, settings)
        index_papers(engine)
        assert [hit.id for hit in engine.search("partitive", mode="keyword")] == [derived_id(title)]
        store.upsert_papers([Paper(id="2504.00009", title=title, abstract="Splitting clusters.", sources=["arxiv"])])
        index_papers(engine)
        assert [hit.id for hit in engine.search("partitive", mode="keyword")] == ["2504.00009"]
        assert engine.sizes() == (1, 1)


def test_a_milvus_server_that_does_not_answer_makes_search_unavailable(tmp_path: Path) -> None:
    """Nothing listens on port 1: the search says which address failed and which setting names it."""
    milvus_lite_url(tmp_path)  # pymilvus is needed to try
    database = str(tmp_path / "down.db")
    with open_store(database) as store:
        store.upsert_papers([Paper(id="2504.00001", title="Partitive Partitioning", sources=["jsonl"])])
        engine = SearchEngine(store, Settings(database_url=database, embedding_model="hashing",
                                              search_url="http://127.0.0.1:1"))
        with pytest.raises(SearchUnavailable, match=r"Milvus at http://127\.0\.0\.1:1 .*PAPERSCOPE_SEARCH_URL"):
            engine.search("partitive", mode="keyword")


def test_a_second_process_on_a_milvus_lite_file_is_told_to_use_a_server(tmp_path: Path) -> None:
    """Milvus Lite locks its file: a command run while another process has it open says why it cannot search."""
    url = milvus_lite_url(tmp_path)
    database = str(tmp_path / "locked.db")
    with open_store(database) as store:
        store.upsert_papers([Paper(id="2504.00001", title="Partitive Partitioning", sources=["jsonl"])])
        engine = SearchEngine(store, Settings(database_url=database, embedding_model="hashing", search_url=url))
        assert [hit.id for hit in engine.search("partitive", mode="keyword")] == ["2504.00001"]
        run = subprocess.run([sys.executable, "-m", "paperscope", "--db", database, "search", "partitive",
                              "--mode", "keyword"], capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PAPERSCOPE_SEARCH_URL": url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    assert run.returncode != 0
    # milvus-lite logs its lock error with a traceback of its own before paperscope's message.
    assert "serves one process at a time" in run.stderr and "http://HOST:19530" in run.stderr, run.stderr


def test_a_released_milvus_lite_file_is_the_next_process_to_open(tmp_path: Path) -> None:
    """MilvusIndex.release stops this process's Lite server on the file: a command run afterwards searches it."""
    url = milvus_lite_url(tmp_path)
    database = str(tmp_path / "handed.db")
    command = [sys.executable, "-m", "paperscope", "--db", database, "search", "partitive", "--mode", "keyword"]
    env = {**os.environ, "PAPERSCOPE_SEARCH_URL": url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing"}
    with open_store(database) as store:
        store.upsert_papers([Paper(id="2504.00001", title="Partitive Partitioning", sources=["jsonl"])])
        engine = SearchEngine(store, Settings(database_url=database, embedding_model="hashing", search_url=url))
        index_papers(engine)
        MilvusIndex.release(url)
        run = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
        assert run.returncode == 0, run.stderr
        assert "2504.00001" in run.stdout
        MilvusIndex.release(url)  # a second release, with no client left here, does nothing


def test_a_search_url_that_names_no_milvus_is_refused_with_both_forms() -> None:
    for wrong in ("milvus://relative.db", "milvus:///tmp/no-suffix", "redis://host:6379"):
        with pytest.raises(ValueError, match=r"PAPERSCOPE_SEARCH_URL .*milvus:///ABSOLUTE/PATH\.db"):
            Settings(search_url=wrong)


def test_a_paper_added_after_the_first_fill_ranks_by_keyword_as_on_the_embedded_index(tmp_path: Path) -> None:
    """Milvus Lite keeps BM25 statistics per segment: a paper synced after the others must still rank first for
    its own words, as it does on the embedded keyword index."""
    database = str(tmp_path / "later.db")
    listing = shared_path("data", "arxiv", "cs", "2025-06-30.jsonl")
    with open_store(database) as store:
        Ingester(store, Settings(database_url=database)).ingest(str(listing))
        embedded, milvus = engines(store, database, tmp_path, "hashing")
        store.upsert_papers([Paper(id="2599.00042", title="Agents that read papers through a protocol",
                                   abstract="Tool use by language model agents over a paper radar.",
                                   authors=["Alan Turing"], categories=["cs.AI"], sources=["jsonl"])])
        index_papers(embedded)
        index_papers(milvus)
        assert milvus.sizes() == embedded.sizes()
        for engine in (embedded, milvus):
            hits = engine.search("tool use over a paper radar", mode="keyword", limit=3)
            assert hits[0].id == "2599.00042", (engine.settings.search_url, [(hit.id, hit.score) for hit in hits])
