"""Hugging Face daily papers: the real API fixture, damaged copies, and `hf:daily` against a local server."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.ids import parse_arxiv_id
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.hf import hf_daily_items, read_hf_daily
from paperscope.store import Store, open_store

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DAY = "2026-06-12"


@pytest.fixture(scope="module")
def fixture_bytes() -> bytes:
    path = SHARED_DATA / "fixtures" / "hf_daily_papers" / "sotawhat_hf_daily_papers.json"
    if not path.exists():
        pytest.skip(f"shared data not found at {path}: these tests read the real Hugging Face fixture in "
                    "../shared/data beside the repository")
    return path.read_bytes()


def read(data: bytes, origin: str = "daily.json") -> tuple[list[Entry], list[Problem]]:
    items = list(read_hf_daily(io.BytesIO(data), origin))
    return ([i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)])


def test_real_fixture_gives_every_paper_with_its_community_fields(fixture_bytes: bytes) -> None:
    raw = json.loads(fixture_bytes)
    entries, problems = read(fixture_bytes)

    assert problems == []
    assert len(entries) == 30
    assert [e.where for e in entries] == [f"item {n}" for n in range(1, 31)]
    for entry, item in zip(entries, raw, strict=True):
        paper, source = entry.paper, item["paper"]
        assert paper.id == parse_arxiv_id(source["id"])[0] and "v" not in paper.id
        assert paper.title == " ".join(source["title"].split())
        assert paper.authors == [a["name"].strip() for a in source["authors"]] and paper.authors
        assert paper.upvotes == source["upvotes"]
        assert paper.ai_keywords == source["ai_keywords"]
        assert paper.github_repo == source.get("githubRepo")
        assert paper.github_stars == source.get("githubStars")
        assert paper.project_page == source.get("projectPage")
        assert paper.published is not None and paper.published.isoformat() == source["publishedAt"][:10]
        assert paper.submitter == source["submittedOnDailyBy"]["fullname"]
        assert paper.abs_url == f"https://arxiv.org/abs/{paper.id}"
        assert paper.sources == ["hf"]
        assert paper.abstract
    assert sum(p.paper.github_repo is not None for p in entries) == 16
    assert max(p.paper.upvotes or 0 for p in entries) > 100


def test_truncated_download_keeps_the_items_before_the_cut(fixture_bytes: bytes, tmp_path: Path) -> None:
    ids = [item["paper"]["id"] for item in json.loads(fixture_bytes)]
    cut = fixture_bytes.index(f'{{"paper":{{"id":"{ids[10]}"'.encode()) + 200  # inside the 11th item
    truncated = tmp_path / "daily.json"
    truncated.write_bytes(fixture_bytes[:cut])

    with truncated.open("rb") as stream:
        items = list(read_hf_daily(stream, str(truncated)))

    entries = [i for i in items if isinstance(i, Entry)]
    assert [e.paper.id for e in entries] == ids[:10]
    assert isinstance(items[-1], Problem) and items[-1].rejected
    assert "line 1, column" in items[-1].message
    assert "10 items before it were read" in items[-1].message


def test_truncated_pretty_printed_file_names_the_line(fixture_bytes: bytes) -> None:
    pretty = json.dumps(json.loads(fixture_bytes)[:3], indent=2).encode()
    third = pretty.index(b'"paper"', pretty.index(b'"paper"', pretty.index(b'"paper"') + 1) + 1)
    cut = pretty[:third + 300]

    entries, problems = read(cut)

    assert len(entries) == 2
    [problem] = problems
    line = int(problem.where.removeprefix("line "))
    assert pretty[:third].count(b"\n") < line <= cut.count(b"\n") + 1
    assert f"line {line}, column" in problem.message


def test_bad_items_are_reported_and_the_rest_kept() -> None:
    data = json.dumps([
        "not an object",
        {"paper": {"id": "2606.99999v2", "title": "Kept Without Date", "publishedAt": "30/05/2026",
                   "authors": [{"name": "Ada Lovelace"}, {"name": " "}, {"name": "Alan Turing"}],
                   "upvotes": 3}},
        {"paper": {"title": "No Id"}},
        {"paper": {"id": "2606.99998", "title": "   "}},
        {"paper": {"id": "not-an-id", "title": "Bad Id"}},
    ]).encode()

    entries, problems = read(data)

    [entry] = entries
    assert entry.where == "item 2"
    assert entry.paper.id == "2606.99999" and entry.paper.published is None
    assert entry.paper.authors == ["Ada Lovelace", "Alan Turing"]
    by_item = {p.where: p for p in problems}
    assert set(by_item) == {"item 1", "item 2", "item 3", "item 4", "item 5"}
    assert by_item["item 1"].rejected and "JSON object" in by_item["item 1"].message
    assert not by_item["item 2"].rejected and "publishedAt" in by_item["item 2"].message
    assert by_item["item 3"].rejected and "'paper.id'" in by_item["item 3"].message
    assert by_item["item 4"].rejected and "'paper.title'" in by_item["item 4"].message
    assert by_item["item 5"].rejected and "not an arXiv id" in by_item["item 5"].message


def test_a_single_item_or_a_bare_paper_object_is_one_paper(fixture_bytes: bytes) -> None:
    item = json.loads(fixture_bytes)[0]
    for document in (item, item["paper"]):
        entries, problems = read(json.dumps(document, indent=1).encode())
        assert problems == []
        assert [e.paper.id for e in entries] == [item["paper"]["id"]]


def test_text_that_is_not_utf8_is_an_input_error() -> None:
    with pytest.raises(InputError, match="not UTF-8"):
        read('[{"paper": {"id": "2606.00001", "title": "Caf\u00e9"}}]'.encode("latin-1"))


# --- hf:daily against a local server -----------------------------------------------------------


ANSWERS = {"/api/error": b'{"error": "Invalid date format"}', "/api/html": b"<html>Sign in</html>"}


class _DailyPapers(BaseHTTPRequestHandler):
    """Serves the fixture for ?date=2026-06-12 and for no date (the latest list), [] for other days."""

    server: _Server

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.server.queries.append(url.query)
        dates = parse_qs(url.query).get("date", [])
        if url.path in ANSWERS:
            status, body = 200, ANSWERS[url.path]
        elif url.path != "/api/daily_papers":
            status, body = 404, b'{"error": "not found"}'
        elif dates in ([], [DAY]):
            status, body = 200, self.server.body
        else:
            status, body = 200, b"[]"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        pass


class _Server(ThreadingHTTPServer):
    body: bytes
    queries: list[str]


@pytest.fixture
def hf_server(fixture_bytes: bytes) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _DailyPapers)
    server.body, server.queries = fixture_bytes, []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def settings(hf_server: _Server, tmp_path: Path) -> Settings:
    host, port = hf_server.server_address[:2]
    return Settings(hf_api_url=f"http://{host}:{port}/api/daily_papers", http_backoff_seconds=0.01,
                    http_retries=1, http_timeout_seconds=5, database_url=f"sqlite:///{tmp_path / 'x.db'}")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Store]:
    with open_store(str(tmp_path / "paperscope.db")) as store:
        yield store


@pytest.mark.network
def test_ingest_hf_daily_for_a_day_stores_every_paper(hf_server: _Server, settings: Settings, db: Store,
                                                      fixture_bytes: bytes) -> None:
    from paperscope.ingest.pipeline import Ingester

    report = Ingester(db, settings).ingest(f"hf:daily:{DAY}")

    assert hf_server.queries == [f"date={DAY}"]
    assert report.added == 30 and report.rejected == 0
    assert db.count_papers() == 30
    for item in json.loads(fixture_bytes):
        stored = db.get_paper(item["paper"]["id"])
        assert stored is not None
        assert stored.upvotes == item["paper"]["upvotes"]
        assert stored.sources == ["hf"]


@pytest.mark.network
def test_hf_daily_items_latest_list_and_an_empty_day(hf_server: _Server, settings: Settings) -> None:
    latest = list(hf_daily_items("daily", settings))
    empty_day = list(hf_daily_items("daily:2026-06-13", settings))

    assert hf_server.queries == ["", "date=2026-06-13"]
    assert len(latest) == 30 and all(isinstance(i, Entry) and i.origin == "hf:daily" for i in latest)
    assert empty_day == []


@pytest.mark.network
@pytest.mark.parametrize(("path", "message"), [("/api/error", "with an error: Invalid date format"),
                                               ("/api/html", "not JSON")])
def test_an_answer_that_is_not_a_list_of_papers_is_a_source_error(path: str, message: str,
                                                                  settings: Settings) -> None:
    settings = settings.model_copy(update={"hf_api_url": settings.hf_api_url.replace("/api/daily_papers", path)})
    with pytest.raises(SourceError, match=message):
        list(hf_daily_items("daily", settings))


@pytest.mark.parametrize("rest", ["daily:2026-13-01", "daily:12-06-2026", "weekly", "daily:"])
def test_malformed_hf_spec_is_an_input_error_before_any_request(rest: str) -> None:
    settings = Settings(hf_api_url="http://127.0.0.1:9/unused")
    with pytest.raises(InputError, match=r"hf:daily:YYYY-MM-DD"):
        hf_daily_items(rest, settings)


@pytest.mark.network
def test_ingest_of_a_malformed_hf_spec_fails_that_source_only(hf_server: _Server, settings: Settings,
                                                             db: Store) -> None:
    from paperscope.ingest.pipeline import Ingester

    report = Ingester(db, settings).ingest("hf:daily:2026-13-01")

    [failure] = report.failed_sources
    assert "'2026-13-01'" in failure and "hf:daily:YYYY-MM-DD" in failure
    assert hf_server.queries == []
    assert db.count_papers() == 0
