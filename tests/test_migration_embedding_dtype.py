"""Migration 0019 (embedding dtype): it adds `embeddings.vector_dtype` as schema.py has it, keeps every vector
stored before it readable exactly (float32), and goes back, turning float16 rows into float32 ones first."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from paperscope.models import Paper
from paperscope.store import migrate, open_store
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0019")


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with database_at(backend, tmp_path, BEFORE) as database:
        yield database


def test_migration_0019_keeps_float32_vectors_and_goes_back(engine_before: tuple[sa.Engine, str]) -> None:
    engine, url = engine_before
    old = np.array([0.1, -0.2, 0.3, 1 / 3], dtype=np.float32)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        for paper_id in ("2503.00001", "2503.00002"):
            conn.execute(sa.text("INSERT INTO papers (id, title, abstract, authors, categories, sources, ai_keywords, "
                                 "ids, title_key, first_author_key, content_hash, added_at, modified_at) VALUES "
                                 "(:id, 'A paper', '', '[]', '[]', '[]', '[]', '[]', 'a paper', '', 'h', :now, :now)"),
                         {"id": paper_id, "now": now})
        conn.execute(sa.text("INSERT INTO embeddings (paper_id, model, model_version, content_hash, vector, "
                             "created_at) VALUES ('2503.00001', 'm', '1', 'h', :vector, :now)"),
                     {"vector": old.tobytes(), "now": now})
    migrate.upgrade(engine)
    assert schema_differences(engine, ["embeddings"]) == []
    new = np.array([0.5, 0.25, -0.1, 2 / 3], dtype=np.float32)
    with open_store(url) as store:
        stored = store.get_embedding("2503.00001", "m")
        assert stored is not None and np.array_equal(stored, old)  # read as the float32 it was
        store.save_embeddings("m", "2", [Paper(id="2503.00002", title="A paper")], new[None, :])
    with engine.connect() as conn:
        dtypes = dict(conn.execute(sa.text("SELECT paper_id, vector_dtype FROM embeddings")).all())
    assert dtypes == {"2503.00001": "float32", "2503.00002": "float16"}
    downgrade(engine, BEFORE)
    assert "vector_dtype" not in {c["name"] for c in sa.inspect(engine).get_columns("embeddings")}
    with engine.connect() as conn:
        blobs = dict(conn.execute(sa.text("SELECT paper_id, vector FROM embeddings")).all())
    assert np.array_equal(np.frombuffer(blobs["2503.00001"], dtype="<f4"), old)
    # the float16 row widened to float32, as the paperscope of the earlier revision reads every row
    assert np.array_equal(np.frombuffer(blobs["2503.00002"], dtype="<f4"), new.astype(np.float16).astype(np.float32))
