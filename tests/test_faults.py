"""Faults: an ingest killed at random points, a database that is not there, a server that restarts.

Runs on both backends (conftest.py). The kills are SIGKILL: no handler, no clean-up, the process is gone
mid-statement. What must hold: the next run completes, the count is exact, no paper is duplicated and no
stored paper is half-written (each row equals what an uninterrupted ingest stores).
"""

from __future__ import annotations

import dataclasses
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from paperscope.config import Settings
from paperscope.errors import StoreError
from paperscope.ids import author_key, title_key
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper, content_hash
from paperscope.store import open_store
from paperscope.store.db import engine_url
from paperscope.store.schema import papers
from tests.conftest import fresh_database, is_postgres, shared_path
from tests.postgres_cluster import (
    PostgresCluster,
    cluster_fixture,  # noqa: F401 (registers it)
)

EXPECTED_CS_PAPERS = 17142
KILLS = 4
SEED = int(os.environ.get("PAPERSCOPE_FAULT_SEED", "7"))


def paperscope(*args: str) -> list[str]:
    return [sys.executable, "-m", "paperscope", *args]


@pytest.fixture(scope="module")
def cs_files() -> list[str]:
    return sorted(str(p) for p in shared_path("data", "arxiv", "cs").glob("*.jsonl"))


@pytest.fixture(scope="module")
def reference(cs_files: list[str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Paper]:
    """What one uninterrupted ingest of the files stores, paper by paper."""
    folder = tmp_path_factory.mktemp("reference")
    with open_store(str(folder / "reference.db")) as store:
        Ingester(store, Settings(database_url=str(folder / "unused.db"))).ingest(*cs_files)
        papers = {p.id: p for p in store.iter_papers()}
    assert len(papers) == EXPECTED_CS_PAPERS
    return papers


def stored_rows(database_url: str) -> list[sa.RowMapping]:
    engine = sa.create_engine(engine_url(database_url))
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.execute(sa.text("PRAGMA integrity_check")).scalar_one() == "ok"
            return list(conn.execute(sa.select(papers)).mappings())
    finally:
        engine.dispose()


def assert_whole_papers(database_url: str, reference: dict[str, Paper]) -> int:
    """Every stored row is a complete, self-consistent paper of the input; returns how many there are."""
    rows = stored_rows(database_url)
    ids = [row["id"] for row in rows]
    assert len(ids) == len(set(ids))
    for row in rows:
        assert row["id"] in reference, row["id"]
        assert row["title"] and row["authors"] is not None and row["sources"] == ["jsonl"]
        # The derived columns are written with the row: a half-applied write would leave them stale.
        assert row["content_hash"] == content_hash(row["title"], row["abstract"]), row["id"]
        assert row["title_key"] == title_key(row["title"])
        assert row["first_author_key"] == (author_key(row["authors"][0]) if row["authors"] else "")
    return len(rows)


def count_papers(database_url: str) -> int:
    engine = sa.create_engine(engine_url(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM papers")).scalar_one())
    except sa.exc.OperationalError:  # the tables are not created yet
        return 0
    finally:
        engine.dispose()


def kill_when_count_reaches(process: subprocess.Popen[bytes], database_url: str, target: int) -> bool:
    """SIGKILL the process once the store holds `target` papers; False if it finished first."""
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if count_papers(database_url) >= target:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return True
        time.sleep(0.01)
    process.kill()
    process.wait()
    return False


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_ingest_killed_at_random_points_then_completed_is_exact(
        database_url: str, cs_files: list[str], reference: dict[str, Paper]) -> None:
    open_store(database_url).close()  # create the tables, so the progress can be watched
    rng = random.Random(SEED)
    counts = [0]
    killed_mid_ingest = 0
    for _ in range(KILLS):
        remaining = EXPECTED_CS_PAPERS - counts[-1]
        target = counts[-1] + int(remaining * rng.uniform(0.1, 0.5))
        process = subprocess.Popen(paperscope("--db", database_url, "ingest", "--quiet", *cs_files),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        killed_mid_ingest += kill_when_count_reaches(process, database_url, target)
        counts.append(assert_whole_papers(database_url, reference))
        assert counts[-1] >= counts[-2]  # nothing committed was lost
    assert killed_mid_ingest == KILLS and counts[-1] < EXPECTED_CS_PAPERS
    final = subprocess.run(paperscope("--db", database_url, "ingest", "--json", "--quiet", *cs_files),
                           capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stderr
    assert assert_whole_papers(database_url, reference) == EXPECTED_CS_PAPERS
    with open_store(database_url) as store:
        assert store.count_papers() == EXPECTED_CS_PAPERS
        stored = {p.id: p for p in store.iter_papers()}
    different = [pid for pid, paper in reference.items()
                 if dataclasses.asdict(stored[pid]) != dataclasses.asdict(paper)]
    assert different == []


# The database is not there at start ------------------------------------------------------------------

UNREACHABLE = {
    "postgresql, nothing listening": ("postgresql://paperscope@127.0.0.1:1/paperscope",
                                      "Cannot reach the database postgresql+psycopg://paperscope@127.0.0.1:1"),
    "postgresql, unknown host": ("postgresql://paperscope:secret@no-such-host.invalid/paperscope",
                                 "Cannot reach the database"),
    "sqlite, path under a file": ("/etc/hostname/paperscope.db", "Cannot create the folder"),
    "sqlite, a folder": ("/", "Cannot open the SQLite database"),
}


@pytest.mark.parametrize("case", UNREACHABLE)
def test_an_unreachable_database_is_a_message_and_exit_1(case: str) -> None:
    url, message = UNREACHABLE[case]
    for command in (["stats", "--json"], ["ingest", str(shared_path("seed", "papers-listing.txt"))]):
        result = subprocess.run(paperscope("--db", url, *command), capture_output=True, text=True, timeout=120)
        assert result.returncode == 1, result.stderr
        assert result.stderr.startswith("Error: " + message), result.stderr
        assert "Traceback" not in result.stderr and "secret" not in result.stderr
        assert result.stdout == ""


def test_postgresql_down_then_back_needs_no_restart_of_paperscope(cluster: PostgresCluster, tmp_path: Path) -> None:
    listing = str(shared_path("seed", "papers-listing.txt"))
    with open_store(cluster.url) as store:
        Ingester(store, Settings(database_url=cluster.url)).ingest(listing)
        assert store.count_papers() == 45
        cluster.stop()
        with pytest.raises(StoreError, match="Cannot reach the database .*server is running"):
            store.count_papers()
        down = subprocess.run(paperscope("--db", cluster.url, "stats"), capture_output=True, text=True,
                              timeout=120)
        assert down.returncode == 1 and "Traceback" not in down.stderr and "Cannot reach" in down.stderr
        cluster.start()
        assert store.count_papers() == 45  # the same store object: its pool reconnects by itself
        assert store.get_paper(next(iter(store.iter_papers())).id) is not None
    up = subprocess.run(paperscope("--db", cluster.url, "stats", "--json"), capture_output=True, text=True,
                        timeout=120)
    assert up.returncode == 0 and '"papers": 45' in up.stdout
    assert is_postgres(cluster.url)


def test_a_killed_db_copy_leaves_the_target_empty_and_a_rerun_completes(
        backend: str, tmp_path: Path, cs_files: list[str], reference: dict[str, Paper]) -> None:
    source = str(tmp_path / "source.db")
    with open_store(source) as store:
        Ingester(store, Settings(database_url=source)).ingest(*cs_files)
    with fresh_database(backend, tmp_path, "target") as target:
        process = subprocess.Popen(paperscope("--db", source, "db", "copy", "--to", target, "--batch-size", "50"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline and not _copy_started(target):
            time.sleep(0.01)
        time.sleep(random.Random(SEED).uniform(0.2, 0.8))  # somewhere inside the copy's transaction
        process.send_signal(signal.SIGKILL)
        process.wait()
        assert process.returncode == -signal.SIGKILL  # killed, not finished
        assert count_papers(target) == 0  # the copy's one transaction was rolled back
        rerun = subprocess.run(paperscope("--db", source, "db", "copy", "--to", target), capture_output=True,
                               text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr
        assert assert_whole_papers(target, reference) == EXPECTED_CS_PAPERS


def _copy_started(target: str) -> bool:
    """The target's tables exist (the copy created them and is now filling them in its transaction)."""
    engine = sa.create_engine(engine_url(target))
    try:
        with engine.connect() as conn:
            return bool(sa.inspect(conn).has_table("alembic_version"))
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()


def test_two_ingest_processes_at_once_on_overlapping_files_store_each_paper_once(
        database_url: str, cs_files: list[str], reference: dict[str, Paper]) -> None:
    """Several processes writing one database (a worker and an ingest, two ingests): the merges queue on
    the write lock, so the result is the same as one ingest of everything."""
    open_store(database_url).close()
    half = len(cs_files) // 2
    first, second = cs_files[:half + 10], list(reversed(cs_files[half - 10:]))  # 20 files in both
    processes = [subprocess.Popen(paperscope("--db", database_url, "ingest", "--quiet", "--json", *files),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for files in (first, second)]
    outputs = [process.communicate(timeout=600) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], [err for _, err in outputs]
    assert assert_whole_papers(database_url, reference) == EXPECTED_CS_PAPERS
    with open_store(database_url) as store:
        stored = {p.id: p for p in store.iter_papers()}
    different = [pid for pid, paper in reference.items() if comparable(stored[pid]) != comparable(paper)]
    assert different == []


def comparable(paper: Paper) -> dict[str, object]:
    """A paper's fields with the secondary categories as a set: merging lists keeps first-seen order, so
    files read in another order list a cross-listed paper's other categories in another order."""
    fields = dataclasses.asdict(paper)
    fields["categories"] = (paper.categories[:1], sorted(paper.categories[1:]))
    return fields
