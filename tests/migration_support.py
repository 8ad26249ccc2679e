"""What the tests of single migrations share: a database migrated up to the revision before one, alembic's
downgrade, and what differs between a migrated database and schema.py."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from paperscope.store import migrate
from paperscope.store.db import engine_url
from paperscope.store.schema import metadata
from tests.conftest import fresh_database


def alembic_config() -> Config:
    """Alembic's configuration of paperscope's migrations."""
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    return config


def revision_before(revision: str) -> str:
    """The revision a migration follows."""
    before = ScriptDirectory.from_config(alembic_config()).get_revision(revision).down_revision
    assert isinstance(before, str)
    return before


@contextlib.contextmanager
def database_at(backend: str, folder: Path, revision: str) -> Iterator[tuple[sa.Engine, str]]:
    """A fresh database of the backend migrated up to `revision`: its engine and URL."""
    with fresh_database(backend, folder) as url:
        engine = sa.create_engine(engine_url(url))
        migrate.upgrade(engine, revision)
        yield engine, url
        engine.dispose()


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the database back to `revision` with the migrations' downgrades."""
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def schema_differences(engine: sa.Engine, names: Iterable[str]) -> list[Any]:
    """What differs between the database and schema.py in the tables (or anything else) named."""
    names = list(names)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    return [d for d in diff if any(name in repr(d) for name in names)]
