"""Migration 0014 (discussion, notifications, moderation): it builds the tables of schema.py, gives existing
users handles, makes the first user the admin, and goes back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.store import migrate
from tests.migration_support import database_at, downgrade, schema_differences

TABLES = ["comments", "notifications", "discussion_follows", "comment_reports", "hidden_papers", "moderation_log"]


@pytest.fixture
def engine_at_0013(backend: str, tmp_path: Path) -> Iterator[sa.Engine]:
    with database_at(backend, tmp_path, "0013") as (engine, _):
        yield engine




def test_existing_users_get_unique_handles_and_the_first_is_admin(engine_at_0013: sa.Engine) -> None:
    now = dt.datetime.now(dt.UTC)
    emails = ["Ada.Lovelace@example.org", "ada-lovelace@example.net", "zed@example.org", "+++@example.org"]
    users = sa.table("users", sa.column("email"), sa.column("timezone"), sa.column("created_at"))
    with engine_at_0013.begin() as conn:
        conn.execute(users.insert(), [{"email": e.lower(), "timezone": "UTC", "created_at": now} for e in emails])
    migrate.upgrade(engine_at_0013)
    with engine_at_0013.connect() as conn:
        rows = conn.execute(sa.text("SELECT handle, is_admin, notify_email FROM users ORDER BY id")).all()
    assert [r[0] for r in rows] == ["adalovelace", "adalovelace2", "zed", "user"]
    assert [bool(r[1]) for r in rows] == [True, False, False, False]
    assert {r[2] for r in rows} == {"digest"}


def test_migration_0014_builds_the_tables_of_schema_py_and_goes_back(engine_at_0013: sa.Engine) -> None:
    migrate.upgrade(engine_at_0013)
    assert schema_differences(engine_at_0013, [*TABLES, "users"]) == []
    assert set(TABLES) <= set(sa.inspect(engine_at_0013).get_table_names())
    downgrade(engine_at_0013, "0013")
    assert not set(TABLES) & set(sa.inspect(engine_at_0013).get_table_names())
    assert "handle" not in {c["name"] for c in sa.inspect(engine_at_0013).get_columns("users")}


def test_new_users_get_free_handles_and_only_the_first_is_admin(tmp_path: Path) -> None:
    from paperscope.store import open_store

    with open_store(str(tmp_path / "h.db")) as store:
        first = store.accounts.create_user("grace.hopper@example.org")
        second = store.accounts.create_user("grace-hopper@example.net")
        third = store.accounts.create_user("x+news@example.org")
    assert (first.handle, second.handle, third.handle) == ("gracehopper", "gracehopper2", "xnews")
    assert (first.is_admin, second.is_admin, third.is_admin) == (True, False, False)
    assert not first.blocked and first.notify_email == "digest"
