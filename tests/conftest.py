"""Shared fixtures: the real data beside the repository, a fresh store on each backend, quiet settings.

Store, ingest and search tests take `store` (or `database_url`) and so run twice: on SQLite and on
PostgreSQL. The PostgreSQL runs need a server named by PAPERSCOPE_TEST_POSTGRES_URL (a database the
tests may create schemas in); without it they skip. `.ci/run` starts a throw-away server and sets it;
`.ci/with-postgres COMMAND` does the same around any command. With PAPERSCOPE_TEST_SEARCH=milvus-lite every
test searches on Milvus Lite instead of the embedded indexes (`.ci/run` runs the suite both ways).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.config import Settings
from paperscope.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
POSTGRES_URL_VARIABLE = "PAPERSCOPE_TEST_POSTGRES_URL"
BACKENDS = ["sqlite", "postgresql"]
SEARCH_VARIABLE = "PAPERSCOPE_TEST_SEARCH"


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with a clear message when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found at {path}: these tests read the real data in ../shared "
                    "beside the repository")
    return path


def postgres_server_url() -> str:
    """The test PostgreSQL server from the environment, or skip the test saying how to provide one."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url and os.environ.get("PAPERSCOPE_TEST_POSTGRES_REQUIRED"):
        pytest.fail(f"{POSTGRES_URL_VARIABLE} is not set but PAPERSCOPE_TEST_POSTGRES_REQUIRED is (as in .ci/run)")
    if not url:
        pytest.skip(f"no PostgreSQL server for tests: set {POSTGRES_URL_VARIABLE}=postgresql://USER@HOST:PORT/DB "
                    "(.ci/run starts a throw-away one; so does .ci/with-postgres python -m pytest)")
    return url


@contextmanager
def postgres_schema(server_url: str) -> Iterator[str]:
    """A database URL whose connections see only a new, empty schema; the schema is dropped afterwards."""
    schema = f"test_{uuid.uuid4().hex[:16]}"
    admin = sa.create_engine(server_url.replace("postgresql://", "postgresql+psycopg://", 1),
                             isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.engine.make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def fresh_database(backend: str, folder: Path, name: str = "paperscope") -> Iterator[str]:
    """The URL (or path) of a new, empty database on `backend`, gone after the block."""
    if backend == "sqlite":
        yield str(folder / f"{name}.db")
    else:
        with postgres_schema(postgres_server_url()) as url:
            yield url


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql", "postgres://"))


@pytest.fixture(autouse=True, scope="session")
def _private_user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test does lands in the real user data directory (default databases, index folders)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


@pytest.fixture(autouse=True)
def _search_on_milvus_lite(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With PAPERSCOPE_TEST_SEARCH=milvus-lite (a CI pass), every test searches on Milvus Lite: its own file,
    through PAPERSCOPE_SEARCH_URL, which the processes it starts inherit."""
    wanted = os.environ.get(SEARCH_VARIABLE)
    if not wanted:
        return
    if wanted != "milvus-lite":
        pytest.fail(f"{SEARCH_VARIABLE}={wanted!r}: the one search backend tests can run on is milvus-lite")
    monkeypatch.setenv("PAPERSCOPE_SEARCH_URL", f"milvus:///{tmp_path / 'milvus-lite.db'}")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Each backend in turn: tests taking it (or `database_url`, `store`) run on SQLite and PostgreSQL."""
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database on the current backend: a SQLite path or a postgresql:// URL."""
    with fresh_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with open_store(database_url) as opened:
        yield opened


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: a temporary database, no waiting between requests, quick retries."""
    return Settings(database_url=f"sqlite:///{tmp_path / 'settings.db'}", arxiv_delay_seconds=0,
                    http_backoff_seconds=0.01, http_timeout_seconds=2, http_retries=2)
