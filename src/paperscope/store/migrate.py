"""Versioned schema migrations (Alembic), applied in place when a store is opened."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from paperscope.errors import StoreError

_SCRIPTS = Path(__file__).with_name("migrations")


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
    """Bring the database to `revision` (the latest by default); a no-op when it is there already."""
    config = _config()
    script = ScriptDirectory.from_config(config)
    current = current_revision(engine)
    if revision == "head" and current == script.get_current_head():
        return
    if current is not None and current not in {s.revision for s in script.walk_revisions()}:
        raise StoreError(
            f"The database is at schema revision {current}, which this version of paperscope does not "
            "know: it was written by a newer paperscope. Upgrade paperscope (pip install -U paperscope)."
        )
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
