"""Migration 0021 (subscriptions.by_tag): a subscription stored before it ranks the whole library, as it did, and
the migration goes back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from paperscope.store import migrate
from paperscope.store.digests import DigestStore
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0021")


def test_migration_0021_keeps_each_subscription_and_goes_back(backend: str, tmp_path: Path) -> None:
    with database_at(backend, tmp_path, BEFORE) as (engine, _):
        now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO users (id, email, timezone, created_at) "
                                 "VALUES (1, 'ada@example.org', 'UTC', :now)"), {"now": now})
            conn.execute(sa.text("INSERT INTO subscriptions (user_id, kind, frequency, hour, weekday, max_papers, "
                                 "active, created_at, updated_at) VALUES (1, 'personal', 'daily', 7, 0, 10, TRUE, "
                                 ":now, :now)"), {"now": now})
        migrate.upgrade(engine)
        assert schema_differences(engine, ["subscriptions"]) == []
        digests = DigestStore(engine)
        before = digests.get_subscription(1)
        assert before is not None and before.by_tag is False and before.max_papers == 10
        assert digests.subscribe(1, by_tag=True).by_tag is True
        downgrade(engine, BEFORE)
        columns = {c["name"] for c in sa.inspect(engine).get_columns("subscriptions")}
        assert "by_tag" not in columns and "max_papers" in columns
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT kind, active FROM subscriptions")).all() == [("personal", True)]
