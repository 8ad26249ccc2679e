"""Generations of the compressed vector index through the search engine: the worker writes them, a web process
in another OS process switches to each new one, and vectors stored since are searched from the delta."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.models import Paper
from paperscope.store import Store, open_store

MODEL, VERSION, DIM = "hashing-384", "1", 384


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)  # type: ignore[no-any-return]


def vectors(n: int, seed: int) -> np.ndarray:
    basis = np.random.default_rng(100).standard_normal((24, DIM))
    rng = np.random.default_rng(seed)
    return unit(rng.standard_normal((n, 24)) @ basis + rng.standard_normal((n, DIM)) * 0.1).astype(np.float32)


def papers(start: int, count: int) -> list[Paper]:
    return [Paper(id=f"2503.{n:05d}", title=f"Paper {n}", abstract=f"Abstract {n}.", sources=["jsonl"])
            for n in range(start, start + count)]


def store_vectors(store: Store, batch: list[Paper], matrix: np.ndarray) -> None:
    store.upsert_papers(batch)
    store.save_embeddings(MODEL, VERSION, batch, matrix)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=str(tmp_path / "g.db"), embedding_model="hashing",
                    index_dir=str(tmp_path / "index"), vector_compress_above=1000)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    with open_store(settings.database_url) as opened:
        yield opened


READER = textwrap.dedent("""
    import json, sys
    import numpy as np
    from paperscope.config import Settings
    from paperscope.index.search import SearchEngine
    from paperscope.store import open_store

    settings = Settings(database_url=sys.argv[1], embedding_model="hashing", index_dir=sys.argv[2],
                        vector_compress_above=1000)
    with open_store(settings.database_url) as store:
        engine = SearchEngine(store, settings, writes_indexes=False)
        for line in sys.stdin:
            paper_id = line.strip()
            engine.refresh()
            handle = engine.vectors
            query = store.get_embedding(paper_id, handle.model)
            hits = handle.search(query, 5)
            print(json.dumps({"size": len(handle), "compressed": handle.compressed,
                              "generation": handle.index.base.number if handle.compressed else None,
                              "hits": hits}), flush=True)
""")


def test_a_web_process_switches_to_each_generation_the_worker_writes(settings: Settings, store: Store) -> None:
    first = vectors(1200, seed=1)
    store_vectors(store, papers(0, 1200), first)
    worker = SearchEngine(store, settings)
    worker.refresh()
    handle = worker.vectors
    index_dir = Path(str(settings.index_dir))
    assert handle.compressed and handle.manifest_path.exists() and not handle.path.exists()
    assert len(handle) == 1200 and handle.index.base.number == 1

    reader = subprocess.Popen([sys.executable, "-c", READER, str(settings.database_url), str(index_dir)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdin is not None and reader.stdout is not None

    def ask(paper_id: str) -> dict[str, object]:
        assert reader.stdin is not None and reader.stdout is not None
        reader.stdin.write(paper_id + "\n")
        reader.stdin.flush()
        answer: dict[str, object] = json.loads(reader.stdout.readline())
        return answer

    try:
        seen = ask("2503.00007")
        assert seen["compressed"] and seen["generation"] == 1 and seen["size"] == 1200
        assert seen["hits"][0][0] == "2503.00007"  # type: ignore[index]

        # A re-embedded paper: a small delta, no new generation; the reader finds it once, by its new vector.
        store.save_embeddings(MODEL, VERSION, papers(3, 1), vectors(1, seed=9))
        worker.refresh()
        assert handle.index.base.number == 1
        seen = ask("2503.00003")
        hit_ids = [hit[0] for hit in seen["hits"]]  # type: ignore[attr-defined]
        assert seen["generation"] == 1 and seen["size"] == 1200
        assert hit_ids[0] == "2503.00003" and hit_ids.count("2503.00003") == 1
        assert seen["hits"][0][1] == pytest.approx(1.0, abs=1e-4)  # type: ignore[index]

        # 100 new papers pass the delta's share of the generation: the worker writes generation 2.
        old_files = handle.index.base.files()
        store_vectors(store, papers(5000, 100), vectors(100, seed=2))
        worker.refresh()
        assert handle.index.base.number == 2 and len(handle) == 1300
        assert not any(path.exists() for path in old_files)
        seen = ask("2503.05050")
        assert seen["generation"] == 2 and seen["size"] == 1300
        assert seen["hits"][0][0] == "2503.05050"  # type: ignore[index]
    finally:
        reader.communicate("", timeout=60)
    assert reader.returncode == 0


def test_below_the_threshold_the_index_stays_one_file(settings: Settings, store: Store) -> None:
    store_vectors(store, papers(0, 300), vectors(300, seed=4))
    worker = SearchEngine(store, settings)
    worker.refresh()
    assert not worker.vectors.compressed and worker.vectors.path.exists()
    assert not worker.vectors.manifest_path.exists()
    store_vectors(store, papers(300, 800), vectors(800, seed=5))  # passes 1,000: the worker compresses it
    worker.refresh()
    assert worker.vectors.compressed and not worker.vectors.path.exists() and len(worker.vectors) == 1100
    assert worker.search("Paper 42", mode="semantic", limit=3)  # the engine searches through it
    worker.clear()
    assert not worker.vectors.manifest_path.exists() and not list(Path(str(settings.index_dir)).glob("*.g1.*"))


def test_the_worker_rewrites_a_generation_of_an_older_layout(settings: Settings, store: Store) -> None:
    from paperscope.index.vector_generation import write_generation

    store_vectors(store, papers(0, 1200), vectors(1200, seed=6))
    worker = SearchEngine(store, settings)
    handle = worker.vectors
    latest = store.latest_embedding_time(MODEL)
    assert latest is not None
    write_generation(handle.manifest_path, store.iter_embeddings(MODEL, until=latest), dim=DIM, model=MODEL,
                     watermark=latest.isoformat(), layout="SQ4")  # as an older version would have written it
    reader = SearchEngine(store, settings, writes_indexes=False)
    reader.refresh()
    assert reader.vectors.index.base.outdated and reader.vectors.index.base.number == 1  # readers never write
    old_centroids = reader.vectors.index.base.centroids()
    worker = SearchEngine(store, settings)
    worker.refresh()
    base = worker.vectors.index.base
    assert base.number == 2 and not base.outdated and base.layout.endswith(",SQ8") and base.count == 1200
    np.testing.assert_array_equal(base.centroids(), old_centroids)  # its coarse lists kept
    assert worker.search("Paper 42", mode="semantic", limit=1)
    worker.refresh()
    assert worker.vectors.index.base.number == 2  # current now: not written again
