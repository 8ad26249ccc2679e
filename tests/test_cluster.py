"""The embedding job on a real Dask cluster of one machine (local worker processes)."""

from pathlib import Path

import numpy as np
import pytest

from paperscope.config import Settings
from paperscope.embed import get_embedder
from paperscope.embed.base import document_text
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.models import Paper
from paperscope.store import open_store

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

pytest.importorskip("distributed", reason="the cluster extra (dask[distributed]) is not installed")


def papers(start: int, count: int) -> list[Paper]:
    return [Paper(id=f"2502.{n:05d}", title=f"Paper {n} on clustering", abstract=f"Abstract number {n}.")
            for n in range(start, start + count)]


def test_cluster_embedding_matches_local_and_resumes_from_the_store(tmp_path: Path) -> None:
    settings = Settings(database_url=str(tmp_path / "c.db"), embedding_model="hashing")
    store = open_store(settings.database_url)
    store.upsert_papers(papers(0, 150))
    engine = SearchEngine(store, settings)
    assert index_papers(engine, cluster="local", workers=1).embedded == 150
    expected = get_embedder("hashing").embed([document_text(p) for p in papers(0, 150)])
    ids, matrix = store.load_embeddings(engine.embedder.name)
    order = [int(i.split(".")[1]) for i in ids]
    assert np.allclose(matrix, expected[order], atol=1e-3)  # stored as float16: about 3 significant digits
    store.upsert_papers(papers(150, 70))
    assert index_papers(engine, cluster="local", workers=1).embedded == 70  # only what is not stored yet
    assert engine.search("clustering", mode="semantic", limit=5)
