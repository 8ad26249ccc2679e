"""`paperscope serve --workers 2`: several web processes and one worker on one database, as real processes.

What must hold: a paper the worker ingests, and one added by another process, is searchable from every web
process within seconds (each refreshes its indexes, none rebuilds them); a database outage answers 503
cleanly and the same processes serve again once the database is back.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from paperscope.config import Settings
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.pipeline import Ingester
from paperscope.store import open_store
from tests.conftest import shared_path
from tests.postgres_cluster import (
    PostgresCluster,
    cluster_fixture,  # noqa: F401 (registers it)
    free_port,
)

# Web processes beside a worker share one search index, and Milvus Lite serves one process at a time.
pytestmark = [pytest.mark.search_backend, pytest.mark.skipif(
    os.environ.get("PAPERSCOPE_TEST_SEARCH") == "milvus-lite", reason=(
    "web processes beside a worker share one search index, and Milvus Lite serves one process at a time: these run "
    "against a Milvus server (PAPERSCOPE_SEARCH_URL=http://HOST:19530) or the embedded indexes"))]

SEED_PAPERS = 45
NEW_PAPER = {"id": "2699.00001", "title": "Quokka sampling for open-world category discovery",
             "abstract": "We discover novel categories among unlabelled quokka photographs with contrastive "
                         "clustering and a Gaussian mixture that chooses the number of clusters."}


@contextmanager
def serving(database: str, folder: Path, *args: str, **environment: str) -> Iterator[str]:
    """`paperscope serve` in a process of its own on a free port; yields its address, stops it after."""
    port = free_port()
    env = {**os.environ, "PAPERSCOPE_EMBEDDING_MODEL": "hashing", "PAPERSCOPE_INGEST_SOURCES": "",
           "PAPERSCOPE_INDEX_DIR": str(folder / "index"), "PAPERSCOPE_JOBS_POLL_SECONDS": "0.5", **environment}
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "--db", database, "serve", "--port", str(port),
                                "--no-access-log", "--log-level", "warning", *args],
                               env=env, stdout=log, stderr=subprocess.STDOUT)
    address = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _answers(address), 120, f"serve did not start; see {folder / 'serve.log'}")
        yield address
        assert process.poll() is None, "serve stopped by itself"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            returncode = process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        finally:
            log.close()
    assert returncode == 0, (folder / "serve.log").read_text()
    assert "Traceback" not in (folder / "serve.log").read_text()


def _answers(address: str) -> bool:
    try:
        return httpx.get(f"{address}/api/status", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(condition: Callable[[], Any], seconds: float, message: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(message)


def statuses_of_every_process(address: str, processes: int) -> dict[int, dict[str, Any]]:
    """/api/status from each web process: new connections land on whichever process accepts first."""
    seen: dict[int, dict[str, Any]] = {}
    for _ in range(400):
        status = httpx.get(f"{address}/api/status", timeout=10, headers={"Connection": "close"}).json()
        seen[status["process_id"]] = status
        if len(seen) == processes:
            break
    assert len(seen) == processes, f"only processes {sorted(seen)} answered"
    return seen


def found(address: str, query: str, mode: str) -> list[str]:
    response = httpx.get(f"{address}/api/search", params={"q": query, "mode": mode, "limit": 5}, timeout=10,
                         headers={"Connection": "close"})
    assert response.status_code == 200, response.text
    return [item["paper"]["id"] for item in response.json()["items"]]


def test_every_web_process_finds_what_the_worker_ingested_within_seconds(database_url: str, tmp_path: Path
                                                                         ) -> None:
    listing = str(shared_path("seed", "papers-listing.txt"))
    with serving(database_url, tmp_path, "--workers", "2", PAPERSCOPE_INGEST_SOURCES=listing) as address:
        # First start on an empty database: the worker ingests the configured source, embeds and indexes it,
        # and the web processes show its progress from the status it publishes.
        status = wait_for(lambda: (s := httpx.get(f"{address}/api/status", timeout=10).json())["state"] == "done"
                          and s, 120, "the worker did not finish its first cycle")
        assert status["papers"] == SEED_PAPERS and status["problems"] == []
        for process in statuses_of_every_process(address, 2).values():
            assert process["keyword_indexed"] == process["vectors_indexed"] == SEED_PAPERS

        # Another process adds a paper; the worker embeds and indexes it; every web process then finds it.
        new_file = tmp_path / "new.jsonl"
        new_file.write_text(json.dumps(NEW_PAPER) + "\n", encoding="utf-8")
        subprocess.run([sys.executable, "-m", "paperscope", "--db", database_url, "ingest", str(new_file)],
                       check=True, capture_output=True, timeout=120)
        started = time.monotonic()
        wait_for(lambda: NEW_PAPER["id"] in found(address, "quokka", "keyword"), 30, "never found by keyword")
        assert time.monotonic() - started < 30
        for process in statuses_of_every_process(address, 2).values():
            assert process["keyword_indexed"] == process["vectors_indexed"] == SEED_PAPERS + 1
        for _ in range(6):  # fresh connections, so both processes answer some of these
            assert found(address, "quokka photographs category discovery", "hybrid")[0] == NEW_PAPER["id"]
            assert NEW_PAPER["id"] in found(address, NEW_PAPER["title"], "semantic")
    index_files = sorted(p.name for p in (tmp_path / "index").iterdir())
    assert "keyword" in index_files and any(name.startswith("vectors-") for name in index_files)


def test_postgresql_restart_while_serving_fails_cleanly_then_recovers(cluster: PostgresCluster,
                                                                     tmp_path: Path) -> None:
    settings = Settings(database_url=cluster.url, embedding_model="hashing", index_dir=str(tmp_path / "index"))
    with open_store(cluster.url) as store:
        Ingester(store, settings).ingest(str(shared_path("seed", "papers-listing.txt")))
        index_papers(SearchEngine(store, settings))
    with serving(cluster.url, tmp_path, "--workers", "2") as address:
        assert httpx.get(f"{address}/api/papers", params={"limit": 1}, timeout=10).status_code == 200
        assert found(address, "clustering", "hybrid")
        cluster.stop()
        for _ in range(4):  # both processes, each through its own pool
            api = httpx.get(f"{address}/api/papers", params={"limit": 1}, timeout=30,
                            headers={"Connection": "close"})
            assert api.status_code == 503 and api.headers["Retry-After"] == "5"
            assert api.json()["error"]["code"] == "unavailable"
            page = httpx.get(f"{address}/search", params={"q": "clustering"}, timeout=30,
                             headers={"Connection": "close"})
            assert page.status_code == 503 and "database cannot be reached" in page.text
        cluster.start()
        wait_for(lambda: httpx.get(f"{address}/api/papers", params={"limit": 1}, timeout=30).status_code == 200,
                 30, "serve did not recover after the database came back")
        for process in statuses_of_every_process(address, 2).values():
            assert process["papers"] == SEED_PAPERS
        assert found(address, "clustering", "hybrid")
