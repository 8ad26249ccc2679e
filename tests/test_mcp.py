"""`paperscope mcp` through the official MCP SDK's own client: the server runs as a subprocess
(`python -m paperscope mcp`) on a small real database (tests/web_support.py's site), over stdio and once over
streamable HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")
import httpx2  # noqa: E402  (the SDK's HTTP client)
from mcp import Client  # noqa: E402
from mcp.client.stdio import StdioServerParameters, stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from mcp.types import CallToolResult  # noqa: E402

from paperscope.config import Settings  # noqa: E402
from paperscope.index.milvus import MilvusIndex  # noqa: E402
from paperscope.index.search import SearchEngine  # noqa: E402
from paperscope.indexing import index_papers  # noqa: E402
from paperscope.models import Paper  # noqa: E402
from paperscope.store import open_store  # noqa: E402
from tests.conftest import REPO  # noqa: E402
from tests.web_support import MATH_ID, TEX_ID, build_site  # noqa: E402

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

TOOLS = {"search", "similar", "trending", "paper", "citations", "recommend", "collect"}
DOI_ID = "2599.00042"
DOI = "10.5555/Agents.2026.7"
EMAIL = "reader@example.org"
SUMMARY_PHRASES = ["clustering", "cost bounds", "square root"]


class Site:
    def __init__(self, settings: Settings, token: str, saved: str) -> None:
        self.settings = settings
        self.token = token
        self.saved = saved

    def env(self, **extra: str) -> dict[str, str]:
        """The server's environment: this checkout's code, the site's database, the fast embedder."""
        search = {"PAPERSCOPE_SEARCH_URL": self.settings.search_url} if self.settings.search_url else {}
        return {"PYTHONPATH": str(REPO / "src"), "PAPERSCOPE_DATABASE_URL": self.settings.database_url,
                "PAPERSCOPE_EMBEDDING_MODEL": "hashing", "PAPERSCOPE_BACKGROUND_JOBS": "false", **search, **extra}

    def hand_over_search(self) -> None:
        """Free the site's Milvus Lite file (tests on Lite) for the server about to start: Lite serves one process."""
        if self.settings.search_url:
            MilvusIndex.release(self.settings.search_url)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    settings = build_site(tmp_path_factory.mktemp("mcp"))
    with open_store(settings.database_url) as store:
        store.upsert_papers([Paper(id=DOI_ID, title="Agents that read papers through a protocol",
                                   abstract="Tool use by language model agents over a paper radar.",
                                   authors=["Alan Turing"], categories=["cs.AI"], doi=DOI, citation_count=3)])
        index_papers(SearchEngine(store, settings))
        store.summaries.save(MATH_ID, "It bounds clustering costs by a square root.", SUMMARY_PHRASES, "fake-7b")
        user = store.accounts.create_user(EMAIL)
        saved = store.list_papers(limit=1)[0][0].id
        store.accounts.set_library_state(user.id, [saved], "saved")
        _, token = store.sessions.create_api_token(user.id, "agent")
    return Site(settings, token, saved)


def structured(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    assert result.structured_content is not None
    return result.structured_content


def error_text(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(part, "text", "") for part in result.content)


def over_stdio(site: Site, check: Callable[[Client], Awaitable[None]], **env: str) -> str:
    """Run `check` against `python -m paperscope mcp` over stdio; returns what the server wrote on stderr."""
    site.hand_over_search()
    params = StdioServerParameters(command=sys.executable, args=["-m", "paperscope", "mcp", "--log-level", "debug"],
                                   env=site.env(**env), cwd=str(REPO))

    async def main() -> None:
        with tempfile.TemporaryFile("w+") as errors:
            async with Client(stdio_client(params, errlog=errors), read_timeout_seconds=30) as client:
                await check(client)
            errors.seek(0)
            log.append(errors.read())

    log: list[str] = []
    anyio.run(main)
    return log[0]


def test_the_seven_tools_answer_a_search_a_paper_by_doi_and_its_citations(site: Site) -> None:
    async def check(client: Client) -> None:
        listed = await client.list_tools()
        assert {tool.name for tool in listed.tools} == TOOLS

        found = structured(await client.call_tool("search", {"query": "clustering costs", "mode": "keyword"}))
        assert found["items"][0]["paper"]["id"] == MATH_ID
        assert found["mode"] == "keyword"
        hybrid = structured(await client.call_tool("search", {"query": "language model agents", "limit": 3,
                                                              "category": "cs.AI"}))
        assert hybrid["items"][0]["paper"]["id"] == DOI_ID
        assert all("cs.AI" in hit["paper"]["categories"] for hit in hybrid["items"])
        bad = error_text(await client.call_tool("search", {"query": "x", "date_from": "yesterday"}))
        assert "date_from: 'yesterday' is not a date" in bad
        too_long = error_text(await client.call_tool("search", {"query": "x" * 501}))
        assert "The search query (query) must be at most 500 characters" in too_long

        by_doi = structured(await client.call_tool("paper", {"paper_id": f"https://doi.org/{DOI.lower()}"}))
        assert by_doi["id"] == DOI_ID
        assert by_doi["ids"]["doi"].lower() == DOI.lower() and by_doi["citation_count"] == 3
        by_arxiv = structured(await client.call_tool("paper", {"paper_id": f"arXiv:{MATH_ID}v2"}))
        assert by_arxiv["id"] == MATH_ID
        assert by_arxiv["summary"] == {"text": "It bounds clustering costs by a square root.",
                                       "key_phrases": SUMMARY_PHRASES, "model": "fake-7b"}
        assert by_doi["summary"] is None  # never summarised (no PAPERSCOPE_LLM_URL here)
        missing = error_text(await client.call_tool("paper", {"paper_id": "2501.99999"}))
        assert "paper_id" in missing and "2501.99999" in missing

        cites = structured(await client.call_tool("citations", {"paper_id": MATH_ID}))
        assert [p["id"] for p in cites["references"]["items"]] == [TEX_ID]
        assert cites["citation_count"] == 7
        cited = structured(await client.call_tool("citations", {"paper_id": TEX_ID}))
        assert [p["id"] for p in cited["cited_by"]["items"]] == [MATH_ID]

        similar = structured(await client.call_tool("similar", {"paper_id": MATH_ID, "limit": 5}))
        assert similar["items"] and MATH_ID not in [item["paper"]["id"] for item in similar["items"]]
        trending = structured(await client.call_tool("trending", {"period": "week", "limit": 5}))
        assert trending["period"] == "week" and trending["items"]
        not_a_day = error_text(await client.call_tool("trending", {"date": "2025-13-01"}))
        assert "date must be a day as YYYY-MM-DD" in not_a_day

    over_stdio(site, check)


def test_recommend_and_collect_act_for_the_token_owner_and_never_log_the_token(site: Site) -> None:
    async def check(client: Client) -> None:
        refused = error_text(await client.call_tool("collect", {"paper_id": DOI_ID, "collection": "reading"}))
        assert "token" in refused and "PAPERSCOPE_MCP_TOKEN" in refused
        wrong = error_text(await client.call_tool("recommend", {"token": "ps_not-a-real-token"}))
        assert "not valid" in wrong and "ps_not-a-real-token" not in wrong

        nothing_yet = error_text(await client.call_tool(
            "collect", {"paper_id": DOI_ID, "collection": "reading", "token": site.token}))
        assert "collection" in nothing_yet and "create" in nothing_yet
        made = structured(await client.call_tool(
            "collect", {"paper_id": f"doi:{DOI}", "collection": "reading", "create": True, "token": site.token}))
        assert made["name"] == "reading" and made["paper_ids"] == [DOI_ID] and made["public"] is False
        again = structured(await client.call_tool(
            "collect", {"paper_id": MATH_ID, "collection": str(made["id"]), "token": site.token}))
        assert again["paper_ids"] == [DOI_ID, MATH_ID]

        picks = structured(await client.call_tool("recommend", {"token": site.token, "limit": 5}))["result"]
        assert picks and all(pick["why"] for pick in picks)
        assert site.saved not in {pick["id"] for pick in picks}
        no_tag = error_text(await client.call_tool("recommend", {"token": site.token, "tag": "to-read"}))
        assert "no tag \u201cto-read\u201d" in no_tag

    stderr = over_stdio(site, check)
    assert "collect" in stderr  # the server did log at debug level: the tool calls, never the token
    assert site.token not in stderr and site.token[3:] not in stderr


def test_the_server_token_acts_for_stdio_callers_that_send_none(site: Site) -> None:
    async def check(client: Client) -> None:
        made = structured(await client.call_tool("collect", {"paper_id": TEX_ID, "collection": "from the server's "
                                                             "token", "create": True}))
        assert made["paper_ids"] == [TEX_ID]

    over_stdio(site, check, PAPERSCOPE_MCP_TOKEN=site.token)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def http_server(site: Site) -> Iterator[str]:
    site.hand_over_search()
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "mcp", "--http", f"127.0.0.1:{port}"],
                               env={**os.environ, **site.env()}, cwd=REPO, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, f"paperscope mcp --http did not listen on port {port} in 60 s"
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(10)


def test_streamable_http_answers_with_the_callers_bearer_token(site: Site, http_server: str) -> None:
    async def main() -> None:
        headers = {"Authorization": f"Bearer {site.token}"}
        async with httpx2.AsyncClient(headers=headers) as http, \
                Client(streamable_http_client(http_server, http_client=http)) as client:
            listed = await client.list_tools()
            assert {tool.name for tool in listed.tools} == TOOLS
            found = structured(await client.call_tool("paper", {"paper_id": MATH_ID}))
            assert found["id"] == MATH_ID
            made = structured(await client.call_tool("collect", {"paper_id": MATH_ID, "collection": "over HTTP",
                                                                 "create": True}))
            assert made["name"] == "over HTTP" and made["paper_ids"] == [MATH_ID]
        async with Client(http_server) as anonymous:
            refused = error_text(await anonymous.call_tool("collect", {"paper_id": MATH_ID, "collection": "x"}))
            assert "Authorization: Bearer" in refused

    anyio.run(main)


def test_a_malformed_http_address_is_refused_with_its_form(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paperscope.cli import main

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "x.db"), "mcp", "--http", "localhost"])
    assert result.exit_code == 2
    assert "--http" in result.output and "HOST:PORT" in result.output and "'localhost'" in result.output
