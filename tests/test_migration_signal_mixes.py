"""Migration 0017 (each user's signal mix): it builds the `signal_mixes` table of schema.py, the store keeps
one mix per user (replaced, gone with the user), and the migration goes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from paperscope.store import migrate, open_store
from paperscope.store.db import engine_url
from paperscope.store.schema import metadata
from tests.conftest import fresh_database


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    return config


BEFORE = ScriptDirectory.from_config(_config()).get_revision("0017").down_revision
assert isinstance(BEFORE, str)


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with fresh_database(backend, tmp_path) as url:
        engine = sa.create_engine(engine_url(url))
        migrate.upgrade(engine, BEFORE)
        yield engine, url
        engine.dispose()


def test_migration_0017_builds_the_signal_mixes_of_schema_py_and_goes_back(
        engine_before: tuple[sa.Engine, str]) -> None:
    engine, url = engine_before
    migrate.upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if "signal_mixes" in repr(d)] == []
    with open_store(url) as store:
        ada = store.accounts.create_user("ada@example.org")
        bob = store.accounts.create_user("bob@example.org")
        assert store.accounts.signal_mix(ada.id) is None
        store.accounts.save_signal_mix(ada.id, "k1", {"weights": {"model": 1.0}, "chosen": False})
        store.accounts.save_signal_mix(ada.id, "k2", {"weights": {"words": 1.0}, "chosen": True})
        store.accounts.save_signal_mix(bob.id, "k3", {"weights": {"graph": 1.0}, "chosen": True})
        assert store.accounts.signal_mix(ada.id) == ("k2", {"weights": {"words": 1.0}, "chosen": True})
        assert store.accounts.user_data(ada.id).counts["recommendation signal mixes"] == 1
        store.accounts.delete_user(ada.id)
        assert store.accounts.signal_mix(ada.id) is None and store.accounts.signal_mix(bob.id) is not None
    with engine.begin() as conn:
        config = _config()
        config.attributes["connection"] = conn
        command.downgrade(config, BEFORE)
    assert "signal_mixes" not in sa.inspect(engine).get_table_names()
