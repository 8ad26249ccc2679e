"""The issue's must-hold on PostgreSQL, as a user runs it: the URL in PAPERSCOPE_DATABASE_URL, then
ingest every real arXiv listing, stats, index and search, each a separate `paperscope` process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import postgres_schema, postgres_server_url, shared_path

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

EXPECTED_CS_PAPERS = 17142


@pytest.fixture
def environment(tmp_path: Path) -> Iterator[dict[str, str]]:
    with postgres_schema(postgres_server_url()) as url:
        yield {**os.environ, "PAPERSCOPE_DATABASE_URL": url, "PAPERSCOPE_INDEX_DIR": str(tmp_path / "index"),
               "PAPERSCOPE_EMBEDDING_MODEL": "hashing"}


def paperscope(environment: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "paperscope", *args], capture_output=True, text=True,
                            env=environment, timeout=600)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_ingest_stats_index_and_search_on_postgresql(environment: dict[str, str]) -> None:
    files = sorted(str(p) for p in shared_path("data", "arxiv", "cs").glob("*.jsonl"))
    assert paperscope(environment, "ingest", "--quiet", *files).startswith(f"added {EXPECTED_CS_PAPERS}, ")
    stats = json.loads(paperscope(environment, "stats", "--json"))
    assert stats["papers"] == EXPECTED_CS_PAPERS and stats["database"].startswith("postgresql")
    assert paperscope(environment, "index").startswith(f"embedded {EXPECTED_CS_PAPERS} papers")
    for mode in ("keyword", "hybrid"):
        found = json.loads(paperscope(environment, "search", "diffusion models for video generation",
                                      "--mode", mode, "--limit", "5", "--json"))
        assert len(found["results"]) == 5
        assert any("video" in hit["title"].lower() for hit in found["results"]), found
    again = json.loads(paperscope(environment, "ingest", "--json", "--quiet", *files))
    assert (again["added"], again["updated"]) == (0, 0)
