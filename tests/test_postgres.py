"""What only PostgreSQL can get wrong: collations, session time zones, pooling, server-side settings.

The store's behaviour on both backends is tested by every test taking `store` (conftest.py); these run
on PostgreSQL alone and skip without PAPERSCOPE_TEST_POSTGRES_URL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.config import Settings, default_index_dir
from paperscope.errors import StoreError
from paperscope.ids import derived_id
from paperscope.models import Paper
from paperscope.store import Outcome, PoolOptions, SQLStore, open_store
from tests.conftest import postgres_schema, postgres_server_url


@pytest.fixture
def server() -> str:
    return postgres_server_url()


def admin_engine(server: str) -> sa.Engine:
    return sa.create_engine(server.replace("postgresql://", "postgresql+psycopg://", 1),
                            isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture
def shifted_collation_database(server: str) -> Iterator[str]:
    """A database whose default collation ignores punctuation, like en_US.UTF-8 clusters do."""
    name = f"icu_{uuid.uuid4().hex[:12]}"
    admin = admin_engine(server)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
                             "ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'"))
        assert conn.execute(sa.text("SELECT 'title-abc' < 'title.' COLLATE \"und-x-icu\"")).scalar() is not None
    try:
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE {name} WITH (FORCE)"))
        admin.dispose()


def test_title_only_records_link_under_a_collation_that_ignores_hyphens(shifted_collation_database: str) -> None:
    with open_store(shifted_collation_database) as store:
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            # The trap: in this collation "title-..." sorts after "title.", so a byte-order range misses it.
            assert conn.execute(sa.text("SELECT 'title-abc' < 'title.'")).scalar() is False
        title = "Probabilistic Partitive Partitioning"
        store.upsert_papers([Paper(id=derived_id(title), title=title, authors=["Ada Lovelace"], sources=["listing"])])
        outcome = store.upsert_papers([Paper(id="2503.00009", title=title, authors=["Ada Lovelace"],
                                             sources=["jsonl"])])
        assert outcome == [Outcome.UPDATED]  # absorbed, not a second paper
        assert store.count_papers() == 1
        assert store.get_paper("2503.00009").sources == ["listing", "jsonl"]  # type: ignore[union-attr]


def test_timestamps_are_utc_whatever_the_session_time_zone(server: str) -> None:
    with postgres_schema(server) as url:
        in_new_york = sa.engine.make_url(url)
        in_new_york = in_new_york.update_query_dict(
            {"options": in_new_york.query["options"] + " -cTimeZone=America/New_York"})
        with open_store(in_new_york.render_as_string(hide_password=False)) as store:
            before = dt.datetime.now(dt.UTC)
            store.upsert_papers([Paper(id="2503.00001", title="A", sources=["jsonl"])])
            [(batch, watermark)] = list(store.papers_modified_since(None))
            assert watermark.utcoffset() is not None
            assert abs(watermark - before) < dt.timedelta(minutes=1)
            assert list(store.papers_modified_since(watermark)) == []
            assert list(store.papers_modified_since(watermark - dt.timedelta(microseconds=1)))


def test_pool_options_reach_the_engine(server: str) -> None:
    with postgres_schema(server) as url, SQLStore(url, PoolOptions(size=3, max_overflow=2, timeout=4)) as store:
        pool = store.engine.pool
        assert isinstance(pool, sa.pool.QueuePool)
        assert (pool.size(), pool._max_overflow, pool._timeout, pool._pre_ping) == (3, 2, 4, True)  # type: ignore[attr-defined]


def test_a_connection_the_server_killed_is_replaced(server: str) -> None:
    with postgres_schema(server) as url, open_store(url) as store:
        store.upsert_papers([Paper(id="2503.00001", title="A", sources=["jsonl"])])
        with store.engine.connect() as conn:  # type: ignore[attr-defined]
            pid = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
        with admin_engine(server).connect() as admin:  # what a server restart does to idle connections
            assert admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
        assert store.count_papers() == 1  # pre-ping noticed and reconnected


def test_a_server_that_refuses_connections_gives_a_store_error(server: str) -> None:
    closed_port = sa.engine.make_url(server).set(port=1).render_as_string(hide_password=False)
    with pytest.raises(StoreError, match=r"Cannot (open|reach) the database .*:1/.*server is running"):
        open_store(closed_port)


def test_index_folder_names_the_database_not_the_password(tmp_path: Path) -> None:
    one = default_index_dir("postgresql://ada:secret@db.example.org/paperscope")
    assert one == default_index_dir("postgresql+psycopg://ada:rotated@db.example.org:5432/paperscope")
    assert one == default_index_dir("postgres://ada@db.example.org/paperscope")
    assert one.name.startswith("postgresql-db.example.org-5432-paperscope-") and "secret" not in str(one)
    assert default_index_dir("postgresql://ada@db.example.org/other") != one
    assert default_index_dir("postgresql://ada@db.example.org/paperscope?options=-csearch_path%3Dlab") != one
    assert Settings(database_url="postgresql://db/x", index_dir=str(tmp_path)).resolved_index_dir() == tmp_path
