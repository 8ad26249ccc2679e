"""Versioned schema migrations (Alembic), applied in place when a store is opened."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from paperscope.errors import StoreError
from paperscope.store.db import WRITE_LOCK_OPTION

_SCRIPTS = Path(__file__).with_name("migrations")
_MIGRATION_LOCK = 0x7061706572  # "paper": the PostgreSQL advisory lock key of schema upgrades


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The revision this version of paperscope expects."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to `revision` (the latest by default); a no-op when it is there already.

    Processes that open one database at once (`serve --workers N` and its worker, on a new database) upgrade
    it one at a time: the upgrade holds a lock (PostgreSQL: an advisory lock; SQLite: the write lock) and
    reads the revision again under it, so the second process finds the work done."""
    config = _config()
    script = ScriptDirectory.from_config(config)
    if revision == "head" and current_revision(engine) == script.get_current_head():
        return
    with engine.connect() as conn, conn.execution_options(**{WRITE_LOCK_OPTION: True}).begin():
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
        current = MigrationContext.configure(conn).get_current_revision()
        if revision == "head" and current == script.get_current_head():
            return
        if current is not None and current not in {s.revision for s in script.walk_revisions()}:
            raise StoreError(
                f"The database is at schema revision {current}, which this version of paperscope does not "
                "know: it was written by a newer paperscope. Upgrade paperscope (pip install -U paperscope)."
            )
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
