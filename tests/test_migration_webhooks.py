"""Migration 0015 (webhooks): it builds the `webhooks` table and the outbox's channel columns of schema.py, keeps
the e-mail messages already queued as e-mail, and goes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.store import migrate
from tests.migration_support import database_at, downgrade, schema_differences


@pytest.fixture
def engine_at_0014(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    with database_at(backend, tmp_path, "0014") as (engine, _):
        yield engine


def test_migration_0015_builds_the_tables_of_schema_py_and_goes_back(engine_at_0014: sa.Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    with engine_at_0014.begin() as conn:
        conn.execute(sa.text("INSERT INTO users (email, timezone, created_at, is_admin, notify_email) "
                             "VALUES ('ada@example.org', 'UTC', :now, false, 'digest')"), {"now": now})
        conn.execute(sa.text("INSERT INTO outbox (idempotency_key, user_id, recipient, subject, message, paper_ids, "
                             "state, attempts, next_attempt_at, created_at, updated_at) VALUES ('digest:1:x', 1, "
                             "'ada@example.org', 's', 'm', '[]', 'pending', 0, :now, :now, :now)"), {"now": now})
    migrate.upgrade(engine_at_0014)
    with engine_at_0014.connect() as conn:
        queued = conn.execute(sa.text("SELECT channel, webhook_id FROM outbox")).all()
    assert schema_differences(engine_at_0014, ["webhooks", "outbox"]) == []
    assert [tuple(row) for row in queued] == [("email", None)]
    downgrade(engine_at_0014, "0014")
    assert "webhooks" not in sa.inspect(engine_at_0014).get_table_names()
    assert "channel" not in {c["name"] for c in sa.inspect(engine_at_0014).get_columns("outbox")}
