"""Shared fixtures: the real data beside the repository, a fresh store on each backend, quiet settings.

Store, ingest and search tests take `store` (or `database_url`) and so run twice: on SQLite and on
PostgreSQL. The PostgreSQL runs need a server named by PAPERSCOPE_TEST_POSTGRES_URL (a database the
tests may create schemas in); without it they skip. `.ci/run` starts a throw-away server and sets it;
`.ci/with-postgres COMMAND` does the same around any command. With PAPERSCOPE_TEST_SEARCH=milvus-lite every
test searches on Milvus Lite instead of the embedded indexes (`.ci/run` runs the suite both ways).

The suite runs on every core through pytest-xdist (`python -m pytest -n auto`; decision 0128): each worker has its
own temporary folders, Milvus Lite files and PostgreSQL schemas, and `computed_once` shares a costly result (real
embeddings of a corpus) between the workers of one run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from filelock import FileLock

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


def computed_once(tmp_path_factory: pytest.TempPathFactory, name: str,
                  compute: Callable[[], np.ndarray]) -> np.ndarray:
    """`compute()` once per test run, shared by the pytest-xdist workers: the first worker to ask computes it
    under a file lock and saves it beside the workers' temporary folders; the others load that file."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process: nothing to share (and no run-wide folder)
        return compute()
    run_folder = tmp_path_factory.getbasetemp().parent  # the run's folder, holding one folder per worker
    path = run_folder / f"{name}.npy"
    with FileLock(str(path) + ".lock"):
        if not path.exists():
            partial = run_folder / f"{name}.partial.npy"
            np.save(partial, compute())
            partial.replace(path)
        return np.load(path)


# The scheduling of modules on the pytest-xdist workers (decision 0131). Modules are handed out longest first, so that
# no worker starts a long module while the other is about to run out of work: these, the longer of a module's two
# passes first (--durations=0 of both passes of .ci/run), then the rest (each under ~20 s) in
# collection order.
LONGEST_FIRST = [
    "tests/test_topics.py", "tests/test_api_fuzz.py", "tests/e2e/test_topic_map_browser.py", "tests/test_faults.py",
    "tests/test_postgres_cli.py", "tests/test_search_unseen.py", "tests/test_webhooks.py", "tests/test_fuzz.py",
    "tests/test_search.py", "tests/test_vector_compressed.py", "tests/e2e/test_csp.py", "tests/test_search_milvus.py",
    "tests/test_search_quality.py", "tests/test_embed.py", "tests/test_serve_processes.py", "tests/test_web_jobs.py",
    "tests/test_digest_delivery.py", "tests/test_cli.py", "tests/e2e/test_browser.py", "tests/test_search_tuning.py",
    "tests/test_web_abuse.py", "tests/test_web_webhooks.py", "tests/test_mcp.py", "tests/test_paper_ids.py",
    "tests/test_web_moderation.py", "tests/test_digest.py", "tests/test_arxiv_api.py", "tests/test_recommend.py",
    "tests/test_web.py", "tests/e2e/test_discussion_browser.py", "tests/test_reference_managers.py",
    "tests/test_store.py", "tests/e2e/test_moderation_browser.py", "tests/test_semantic_scholar.py",
    "tests/e2e/test_notes_browser.py",
]
# Modules that run on the worker of another, right after it: both fit UMAP on the topics corpus, and numba compiles
# UMAP once a process (25 to 40 s), so on one worker it is compiled once.
ON_THE_WORKER_OF = {"tests/test_topic_areas_labels.py": "tests/test_topics.py"}


def _module_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest modules first, each module that runs on another's worker right after that one."""
    first_seen: dict[str, int] = {}
    for item in items:
        first_seen.setdefault(_module_of(item.nodeid), len(first_seen))

    def rank(item: pytest.Item) -> tuple[int, int, bool]:
        module = _module_of(item.nodeid)
        head = ON_THE_WORKER_OF.get(module, module)
        place = LONGEST_FIRST.index(head) if head in LONGEST_FIRST else len(LONGEST_FIRST)
        return place, first_seen.get(head, first_seen[module]), module != head

    items.sort(key=rank)  # stable: each module's tests keep their order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
    """With --dist loadscope, a unit of work is a module, or a module with those that run on its worker."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = _module_of(nodeid)
            return ON_THE_WORKER_OF.get(module, module)

    return ModuleScheduling(config, log)


def is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgresql", "postgres://"))


@pytest.fixture(autouse=True, scope="session")
def _private_user_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing a test does lands in the real user data directory (default databases, index folders)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        yield


def search_backend_wanted() -> str | None:
    """The search backend the tests run on by PAPERSCOPE_TEST_SEARCH: None (the embedded indexes) or
    "milvus-lite"; any other value fails the test naming the one accepted."""
    wanted = os.environ.get(SEARCH_VARIABLE)
    if wanted and wanted != "milvus-lite":
        pytest.fail(f"{SEARCH_VARIABLE}={wanted!r}: the one search backend tests can run on is milvus-lite")
    return wanted or None


def release_search() -> None:
    """Free the Milvus Lite file of PAPERSCOPE_SEARCH_URL in this process, so that a process the test starts
    (paperscope serve, a command) can open it: Milvus Lite serves one process at a time."""
    url = os.environ.get("PAPERSCOPE_SEARCH_URL")
    if url and url.startswith("milvus:"):
        from paperscope.index.milvus import MilvusIndex

        MilvusIndex.release(url)


def own_search_env(folder: Path) -> dict[str, str]:
    """The environment for a process that must search on a Milvus Lite file of its own (beside a server that
    holds the test's or module's file) when the tests run on Milvus Lite; else nothing."""
    if not os.environ.get("PAPERSCOPE_SEARCH_URL", "").startswith("milvus:"):
        return {}
    return {"PAPERSCOPE_SEARCH_URL": f"milvus:///{folder / 'milvus-lite.db'}"}


@contextmanager
def _milvus_lite_file(folder: Path) -> Iterator[Path | None]:
    """PAPERSCOPE_SEARCH_URL at a Milvus Lite file in `folder` for the block (with PAPERSCOPE_TEST_SEARCH=
    milvus-lite; else nothing changes and it yields None), released in this process afterwards."""
    if not search_backend_wanted():
        yield None
        return
    path = folder / "milvus-lite.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PAPERSCOPE_SEARCH_URL", f"milvus:///{path}")
        try:
            yield path
        finally:
            release_search()


# This file's fixtures of module or session scope that never search. Those and the plugins' own (tmp_path_factory,
# baseid "") reach no module's Lite file: a test reaches it only through a module or session fixture of the suite.
_NEVER_SEARCH = {"_private_user_data_dir", "_search_on_milvus_lite_session", "_search_on_milvus_lite_module"}


# Fixtures of every scope build settings and indexes (a module's site, a session's corpus), so each scope has its
# own Lite file: a module-scoped fixture indexes into the module's file, a test's own settings into the test's.
@pytest.fixture(autouse=True, scope="session")
def _search_on_milvus_lite_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with _milvus_lite_file(tmp_path_factory.mktemp("milvus-session")):
        yield


@pytest.fixture(autouse=True, scope="module")
def _search_on_milvus_lite_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    with _milvus_lite_file(tmp_path_factory.mktemp("milvus-module")) as path:
        yield path


@pytest.fixture(autouse=True)
def _search_on_milvus_lite(request: pytest.FixtureRequest, tmp_path: Path,
                           _search_on_milvus_lite_module: Path | None) -> Iterator[None]:
    """With PAPERSCOPE_TEST_SEARCH=milvus-lite (a CI pass), every test searches on Milvus Lite: its own file,
    through PAPERSCOPE_SEARCH_URL, which the processes it starts inherit.

    A test that reaches Milvus there (its own file, or its module's through a module-scoped fixture it takes)
    must carry the `search_backend` mark, which selects the tests CI runs on Lite: it fails here otherwise."""
    with _milvus_lite_file(tmp_path) as own:
        yield
    module_file = _search_on_milvus_lite_module
    if own is None or module_file is None or request.node.get_closest_marker("search_backend"):
        return
    fixtures = request.node._fixtureinfo.name2fixturedefs.items()
    takes_module_fixture = any(definitions and definitions[-1].scope in ("module", "session")
                               and definitions[-1].baseid and name not in _NEVER_SEARCH  # the suite's own
                               for name, definitions in fixtures)
    if own.exists() or (takes_module_fixture and module_file.exists()):
        pytest.fail(f"{request.node.nodeid} searched on Milvus Lite but has no search_backend mark: mark it "
                    "(pytest.mark.search_backend) so that CI runs it on Milvus Lite too", pytrace=False)


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
