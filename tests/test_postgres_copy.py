"""`paperscope db copy --to URL`: every record of a SQLite database, in a PostgreSQL (or SQLite) one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.errors import StoreError
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store
from paperscope.store.copy import copy_database, copy_table
from paperscope.store.db import engine_url
from paperscope.store.schema import metadata
from tests.conftest import fresh_database, is_postgres, postgres_schema, postgres_server_url, shared_path


@pytest.fixture
def source(tmp_path: Path, settings: Settings) -> str:
    """A SQLite database with real papers from four sources, title-only ones, vectors and sync state."""
    path = str(tmp_path / "source.db")
    with open_store(path) as store:
        files = [shared_path("seed", "papers-listing.txt"),
                 shared_path("data", "fixtures", "hf_daily_papers", "sotawhat_hf_daily_papers.json"),
                 *sorted(shared_path("data", "fixtures", "arxiv_api").glob("*.xml")),
                 sorted(shared_path("data", "arxiv", "cs").glob("*.jsonl"))[0]]
        Ingester(store, settings).ingest(*map(str, files))
        papers = list(store.iter_papers())
        vectors = np.random.default_rng(0).standard_normal((len(papers), 8)).astype(np.float32)
        store.save_embeddings("model-a", "1", papers, vectors)
        store.save_embeddings("model-b", "2", papers[:10], vectors[:10] * 2)
        store.set_sync_state("arxiv:cs.LG", {"high_water": "2026-06-01T00:00:00Z", "page": 3})
    return path


def rows(database: str) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, in primary-key order, timestamps as aware UTC."""
    engine = sa.create_engine(engine_url(database))
    found: dict[str, list[dict[str, Any]]] = {}
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            result = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()
            found[table.name] = [{k: (v.astimezone(dt.UTC) if isinstance(v, dt.datetime) and v.tzinfo else
                                      v.replace(tzinfo=dt.UTC) if isinstance(v, dt.datetime) else
                                      bytes(v) if isinstance(v, memoryview) else v)
                                  for k, v in row.items()} for row in result]
    engine.dispose()
    return found


@pytest.fixture
def target_in_another_time_zone() -> Any:
    """A PostgreSQL target whose sessions run in Asia/Kolkata: naive timestamps would shift by 5:30."""
    with postgres_schema(postgres_server_url()) as url:
        parsed = sa.engine.make_url(url)
        yield parsed.update_query_dict({"options": parsed.query["options"] + " -cTimeZone=Asia/Kolkata"}
                                       ).render_as_string(hide_password=False)


def test_copy_to_postgresql_keeps_every_record_and_refuses_a_second_copy(
        source: str, target_in_another_time_zone: str) -> None:
    target = target_in_another_time_zone
    before = rows(source)
    assert len(before["papers"]) > 400 and len(before["embeddings"]) == len(before["papers"]) + 10
    runner = CliRunner()
    result = runner.invoke(main, ["--db", source, "db", "copy", "--to", target, "--batch-size", "300"])
    assert result.exit_code == 0, result.output
    for table, found in before.items():
        assert f"{table} {len(found)}" in result.output
    after = rows(target)
    assert after == before  # every column of every row, timestamps as the same instants
    with open_store(source) as old, open_store(target) as new:
        assert new.stats() | {"database": None} == old.stats() | {"database": None}
        assert new.get_sync_state("arxiv:cs.LG") == {"high_water": "2026-06-01T00:00:00Z", "page": 3}
        old_ids, old_vectors = old.load_embeddings("model-a")
        new_ids, new_vectors = new.load_embeddings("model-a")
        assert new_ids == old_ids and np.array_equal(new_vectors, old_vectors)
        assert list(new.papers_modified_since(None)) and new.count_papers_to_embed("model-a") == 0
    again = runner.invoke(main, ["--db", source, "db", "copy", "--to", target])
    assert again.exit_code == 1 and "is not empty" in again.output and "Traceback" not in again.output
    assert rows(target) == before


def test_copy_between_sqlite_files_too(source: str, tmp_path: Path) -> None:
    report = copy_database(source, str(tmp_path / "copy.db"), batch_size=1000)
    assert report.tables["papers"] == len(rows(source)["papers"])
    assert rows(str(tmp_path / "copy.db")) == rows(source)


def test_a_failing_copy_keeps_nothing_in_the_target(source: str, backend: str, tmp_path: Path) -> None:
    with fresh_database(backend, tmp_path, "target") as target:
        engine = sa.create_engine(engine_url(source))
        with engine.begin() as conn:  # SQLite does not enforce VARCHAR(64); PostgreSQL does
            conn.execute(sa.text("UPDATE papers SET primary_category = :long WHERE id = "
                                 "(SELECT max(id) FROM papers)"), {"long": "x" * 100})
            conn.execute(sa.text("CREATE TABLE notes_from_the_future (id INTEGER PRIMARY KEY)"))
        with pytest.raises(StoreError, match="notes_from_the_future"):
            copy_database(source, target)  # a table it would not copy: refused before writing
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE notes_from_the_future"))
        engine.dispose()
        if is_postgres(target):
            with pytest.raises(StoreError, match="Copying table papers .* Nothing was kept"):
                copy_database(source, target, batch_size=100)
            counts = {name: len(found) for name, found in rows(target).items()}
            assert {"papers", "embeddings", "sync_state"} <= set(counts)
            assert set(counts.values()) == {0}
        else:
            assert copy_database(source, target).tables["papers"] > 0


def test_missing_source_and_same_database_are_refused(tmp_path: Path, source: str) -> None:
    with pytest.raises(StoreError, match="no database at"):
        copy_database(str(tmp_path / "typo.db"), str(tmp_path / "t.db"))
    with pytest.raises(StoreError, match="same database"):
        copy_database(source, f"sqlite:///{source}")


def test_serial_ids_continue_after_the_copied_ones(backend: str, tmp_path: Path) -> None:
    """A table with generated integer ids (none yet in paperscope's schema) keeps generating new ones."""
    own = sa.MetaData()
    items = sa.Table("items", own, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text))
    with fresh_database("sqlite", tmp_path, "a") as one, fresh_database(backend, tmp_path, "b") as other:
        reading, writing = sa.create_engine(engine_url(one)), sa.create_engine(engine_url(other))
        own.create_all(reading)
        own.create_all(writing)
        with reading.begin() as conn:
            conn.execute(items.insert(), [{"id": n, "name": f"item {n}"} for n in (1, 2, 7)])
        with reading.connect() as source_conn, writing.begin() as target_conn:
            from paperscope.store.copy import _reset_sequences

            assert copy_table(source_conn, target_conn, items, batch_size=2) == 3
            _reset_sequences(target_conn, items)
        with writing.begin() as conn:
            new_id = conn.execute(items.insert().values(name="new").returning(items.c.id)).scalar_one()
        assert new_id == 8
        reading.dispose()
        writing.dispose()
