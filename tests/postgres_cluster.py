"""A private PostgreSQL server a test may stop and start (outages, restarts), like .ci/with-postgres makes.

The shared test server (PAPERSCOPE_TEST_POSTGRES_URL) must stay up for every other test, so tests that
take the database away get their own: `initdb` into a temporary folder, run as the `postgres` account
when the tests run as root (PostgreSQL refuses root), on a free loopback port.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

BIN_VARIABLE = "PAPERSCOPE_TEST_POSTGRES_BIN"


def find_postgres_bin() -> Path | None:
    """The folder holding pg_ctl and initdb: from .ci/with-postgres, the PATH, or Debian's layout."""
    candidates = [os.environ.get(BIN_VARIABLE, ""), os.path.dirname(shutil.which("pg_ctl") or ""),
                  *sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)]
    for folder in candidates:
        if folder and (Path(folder) / "pg_ctl").exists():
            return Path(os.path.realpath(Path(folder) / "pg_ctl")).parent
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """initdb, start, stop, restart and remove one throw-away server."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="paperscope-pg-test-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_owner: list[str] = []
        if os.geteuid() == 0:
            owner = "postgres" if _has_user("postgres") else "nobody"
            self.folder.chmod(0o755)
            shutil.chown(self.folder, user=owner)
            self.as_owner = ["runuser", "-u", owner, "--"]
        self._run("initdb", "-D", str(self.data), "-U", "paperscope", "--auth=trust", "--encoding=UTF8",
                  "--locale=C.UTF-8")

    @property
    def url(self) -> str:
        return f"postgresql://paperscope@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        subprocess.run([*self.as_owner, str(self.bin_dir / program), *args], check=True, capture_output=True,
                       timeout=120)

    def start(self, durable: bool = False) -> None:
        """Start the server; durable=False turns fsync off (tests), True keeps PostgreSQL's defaults (benchmarks)."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.folder}" + ("" if durable else " -c fsync=off")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w", "-t", "60",
                  "start", "-o", options)

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop("immediate")
        shutil.rmtree(self.folder, ignore_errors=True)


def _has_user(name: str) -> bool:
    import pwd

    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def private_cluster() -> PostgresCluster:
    """A started private server, or skip when PostgreSQL is not installed (fail where CI requires it)."""
    bin_dir = find_postgres_bin()
    if bin_dir is None:
        if os.environ.get("PAPERSCOPE_TEST_POSTGRES_REQUIRED"):
            pytest.fail("PostgreSQL server binaries not found but PAPERSCOPE_TEST_POSTGRES_REQUIRED is set")
        pytest.skip("PostgreSQL is not installed (pg_ctl not found); .ci/run installs it")
    cluster = PostgresCluster(bin_dir)
    try:
        cluster.start()
    except BaseException:
        cluster.remove()
        raise
    return cluster


@pytest.fixture(name="cluster")
def cluster_fixture() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for one test, removed afterwards."""
    server = private_cluster()
    try:
        yield server
    finally:
        server.remove()
