"""Migration 0017 (each user's signal mix): it builds the `signal_mixes` table of schema.py, the store keeps
one mix per user (replaced, gone with the user), and the migration goes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.store import migrate, open_store
from tests.migration_support import database_at, downgrade, revision_before, schema_differences

BEFORE = revision_before("0017")


@pytest.fixture
def engine_before(backend: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    with database_at(backend, tmp_path, BEFORE) as database:
        yield database


def test_migration_0017_builds_the_signal_mixes_of_schema_py_and_goes_back(
        engine_before: tuple[sa.Engine, str]) -> None:
    engine, url = engine_before
    migrate.upgrade(engine)
    assert schema_differences(engine, ["signal_mixes"]) == []
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
    downgrade(engine, BEFORE)
    assert "signal_mixes" not in sa.inspect(engine).get_table_names()
