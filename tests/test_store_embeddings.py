"""Stored vectors: float16 rows (2 bytes a dimension), float32 rows of an older paperscope read as they are, both
in one batch, and `paperscope db convert-embeddings` turning the float32 rows into float16 ones; on SQLite and
PostgreSQL."""

from __future__ import annotations

import datetime as dt

import numpy as np
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.schema import embeddings
from paperscope.store.sql import SQLStore

DIM = 384


def papers(count: int) -> list[Paper]:
    return [Paper(id=f"2503.{n:05d}", title=f"Paper number {n}", sources=["jsonl"]) for n in range(count)]


def unit_rows(count: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def stored_rows(store: Store) -> dict[str, tuple[int, str]]:
    """{paper id: (bytes stored, vector_dtype)} as the database holds them."""
    assert isinstance(store, SQLStore)
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(embeddings.c.paper_id, sa.func.length(embeddings.c.vector),
                                      embeddings.c.vector_dtype)).all()
    return {paper_id: (int(size), dtype) for paper_id, size, dtype in rows}


def store_as_float32(store: Store, batch: list[Paper], vectors: np.ndarray) -> None:
    """Rows as an older paperscope wrote them: float32 bytes, no vector_dtype given (the column's default)."""
    assert isinstance(store, SQLStore)
    now = dt.datetime.now(dt.UTC)
    with store.engine.begin() as conn:
        conn.execute(embeddings.insert(), [
            {"paper_id": p.id, "model": "m", "model_version": "1", "content_hash": p.content_hash,
             "vector": np.asarray(v, dtype="<f4").tobytes(), "created_at": now}
            for p, v in zip(batch, vectors, strict=True)])


def test_new_vectors_take_two_bytes_a_dimension_and_read_back_as_float32(store: Store) -> None:
    batch = papers(3)
    store.upsert_papers(batch)
    vectors = unit_rows(3)
    store.save_embeddings("m", "1", batch, vectors)
    assert stored_rows(store) == {p.id: (2 * DIM, "float16") for p in batch}
    ids, matrix = store.load_embeddings("m")
    assert ids == [p.id for p in batch] and matrix.dtype == np.float32 and matrix.shape == (3, DIM)
    assert np.abs(matrix - vectors).max() < 1e-3  # float16 keeps ~3 significant digits of a unit vector's values
    assert np.allclose(matrix @ vectors.T, vectors @ vectors.T, atol=2e-3)
    single = store.get_embedding(batch[0].id, "m")
    assert single is not None and single.dtype == np.float32 and np.array_equal(single, matrix[0])
    assert all(np.array_equal(v, matrix[i]) for i, v in enumerate(store.get_embeddings(ids, "m").values()))


def test_a_vector_beyond_float16s_range_is_kept_as_float32(store: Store) -> None:
    batch = papers(2)
    store.upsert_papers(batch)
    vectors = np.ones((2, 4), dtype=np.float32)
    vectors[1, 2] = 1e6  # float16 ends at 65504: it would be infinity
    store.save_embeddings("m", "1", batch, vectors)
    assert stored_rows(store) == {batch[0].id: (8, "float16"), batch[1].id: (16, "float32")}
    assert np.array_equal(store.load_embeddings("m")[1], vectors)


def test_float32_rows_read_exactly_and_mix_with_float16_rows_in_one_batch(store: Store) -> None:
    batch = papers(6)
    store.upsert_papers(batch)
    vectors = unit_rows(6)
    store_as_float32(store, batch[::2], vectors[::2])  # 0, 2, 4: an older paperscope's rows
    store.save_embeddings("m", "2", batch[1::2], vectors[1::2])  # 1, 3, 5: float16
    assert [dtype for _, dtype in stored_rows(store).values()].count("float32") == 3
    blocks = list(store.iter_embeddings("m"))
    assert len(blocks) == 1 and blocks[0][0] == [p.id for p in batch]  # one batch holding both dtypes
    matrix = blocks[0][1]
    assert matrix.dtype == np.float32
    assert np.array_equal(matrix[::2], vectors[::2])  # float32 rows: exactly what was stored
    assert np.array_equal(matrix[1::2], vectors[1::2].astype(np.float16).astype(np.float32))
    old = store.get_embedding(batch[0].id, "m")
    assert old is not None and np.array_equal(old, vectors[0])
    assert np.array_equal(store.get_embeddings([batch[2].id], "m")[batch[2].id], vectors[2])


def test_convert_embeddings_rewrites_float32_rows_as_float16_in_batches(database_url: str) -> None:
    batch = papers(7)
    vectors = unit_rows(7, seed=1)
    with open_store(database_url) as store:
        store.upsert_papers(batch)
        store_as_float32(store, batch[:5], vectors[:5])
        store.save_embeddings("m", "2", batch[5:], vectors[5:])
        before = {p.id: store.get_embedding(p.id, "m") for p in batch}
        created = store.latest_embedding_time("m")
    result = CliRunner().invoke(main, ["--db", database_url, "db", "convert-embeddings", "--batch-size", "2"])
    assert result.exit_code == 0, result.output
    assert "converted 5 of 7 stored vectors to float16" in result.output
    with open_store(database_url) as store:
        assert stored_rows(store) == {p.id: (2 * DIM, "float16") for p in batch}
        for paper in batch:
            after, earlier = store.get_embedding(paper.id, "m"), before[paper.id]
            assert after is not None and earlier is not None
            assert np.array_equal(after, earlier.astype(np.float16).astype(np.float32))
        assert store.latest_embedding_time("m") == created  # the vector indexes' watermark: nothing new to add
        assert store.convert_embeddings() == 0  # nothing left to convert
