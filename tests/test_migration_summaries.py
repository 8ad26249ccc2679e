"""Migration 0016 (LLM summaries): it builds the `paper_summaries` table of schema.py beside `papers`, keeps
the papers stored before it, and goes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.store import migrate, open_store
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0016")


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with database_at(backend, tmp_path, BEFORE) as database:
        yield database


def test_migration_0016_builds_the_summaries_table_of_schema_py_and_goes_back(
        engine_before: tuple[sa.Engine, str]) -> None:
    engine, url = engine_before
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO papers (id, title, abstract, authors, categories, sources, ai_keywords, "
                             "ids, title_key, first_author_key, content_hash, added_at, modified_at) VALUES "
                             "('2612.00001', 'A paper', '', '[]', '[]', '[]', '[]', '[]', 'a paper', '', 'x', "
                             ":now, :now)"), {"now": now})
    migrate.upgrade(engine)
    assert schema_differences(engine, ["paper_summaries"]) == []
    assert "summary" not in {c["name"] for c in sa.inspect(engine).get_columns("papers")}  # kept apart
    with open_store(url) as store:
        assert store.summaries.pending(limit=5) == ["2612.00001"]
        store.summaries.save("2612.00001", "A paper about nothing in particular.", ["a", "b", "c"], "m")
        assert store.summaries.get("2612.00001") is not None
    downgrade(engine, BEFORE)
    assert "paper_summaries" not in sa.inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM papers")).scalar() == 1
