"""Migration 0018 (topic areas): it adds `topic_maps.areas` as schema.py has it, keeps the maps built before it
(read back with no areas), and goes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from paperscope.store import migrate, open_store
from paperscope.store.topics import Assignment, TopicArea, TopicRecord
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0018")


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with database_at(backend, tmp_path, BEFORE) as database:
        yield database


def test_migration_0018_adds_the_areas_of_a_map_and_goes_back(engine_before: tuple[sa.Engine, str]) -> None:
    engine, url = engine_before
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO topic_maps (model, built_at, n_papers, n_topics, n_outliers, params) "
                             "VALUES ('m', :now, 0, 0, 0, '{}')"), {"now": now})
    migrate.upgrade(engine)
    assert schema_differences(engine, ["topic_maps"]) == []
    with open_store(url) as store:
        old = store.topics.current_map()
        assert old is not None and old.areas == []  # a map built before areas: none, read without error
        record = TopicRecord(id=1, label="robot grasping", keywords=["grasping"], representative_ids=[], size=0,
                             cohesion=0.5, centroid=np.ones(4, dtype=np.float32))
        area = TopicArea(id=1, label="robotics", keywords=["robots"], topic_ids=[1], size=0, x=0.5, y=0.25)
        saved = store.topics.save_map("m", [record], list[Assignment](), params={}, areas=[area])
        assert saved.areas == [area] and store.topics.current_map() == saved
    downgrade(engine, BEFORE)
    assert "areas" not in {c["name"] for c in sa.inspect(engine).get_columns("topic_maps")}
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM topic_maps")).scalar() == 2
