"""Migration 0020 (papers added index): the newest papers are read from an index in their order, not by sorting
the whole table, and the migration goes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.store import migrate
from paperscope.store.schema import papers
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0020")


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with database_at(backend, tmp_path, BEFORE) as database:
        yield database


def _newest_plan(engine: sa.Engine) -> str:
    """How the database reads the newest papers added since a time (PostgreSQL told to avoid full scans and
    sorts, so that a small table shows what a large one gets)."""
    query = (sa.select(papers.c.id).where(papers.c.added_at > "2026-01-01")
             .order_by(papers.c.added_at.desc(), papers.c.id).limit(50))
    text = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {text}"))
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):
            conn.exec_driver_sql(f"SET {setting} = off")
        return "\n".join(str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {text}"))


def test_migration_0020_reads_the_newest_papers_in_index_order_and_goes_back(
        engine_before: tuple[sa.Engine, str]) -> None:
    engine, _ = engine_before
    assert "ix_papers_added" not in _newest_plan(engine)
    migrate.upgrade(engine)
    # As schema.py has it (the listing index differs in spelling on PostgreSQL, by migration 0010's NULLS LAST).
    assert [d for d in schema_differences(engine, ["papers"]) if "ix_papers_added" in str(d)] == []
    plan = _newest_plan(engine)
    assert "ix_papers_added" in plan and "ORDER BY" not in plan and "Sort" not in plan, plan
    downgrade(engine, BEFORE)
    assert "ix_papers_added" not in {ix["name"] for ix in sa.inspect(engine).get_indexes("papers")}
