"""`arxiv:QUERY` against a scripted local server: paging, retries, incremental runs, resuming, politeness."""

from __future__ import annotations

import datetime as dt
import re
import socket
from collections.abc import Generator, Iterable, Iterator
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError, OfflineError, SourceError
from paperscope.ingest.arxiv_api import (
    DEFAULT_FIRST_RUN_LIMIT,
    ArxivQuery,
    arxiv_items,
    parse_query,
)
from paperscope.ingest.base import Checkpoint, Entry, Problem, SourceItem
from paperscope.ingest.pipeline import Ingester
from paperscope.store import Store
from tests.http_fixture_server import FixtureServer, Reply, Request, assert_spaced
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

API = "/api/query"
KEY = "arxiv:cs.LG"
BASE = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
network = pytest.mark.network


# --- a fake arXiv: papers newest first, served in start/max_results slices ---------------------------

def stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_xml(number: int, updated: dt.datetime) -> str:
    arxiv_id = f"2605.{number:05d}"
    return f"""  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v1</id>
    <title>Paper {number}</title>
    <updated>{stamp(updated)}</updated>
    <link href="https://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/{arxiv_id}v1" rel="related" type="application/pdf" title="pdf"/>
    <summary>The abstract of paper {number}.</summary>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <published>{stamp(updated)}</published>
    <arxiv:primary_category term="cs.LG"/>
    <author><name>Author {number}</name></author>
  </entry>
"""


def feed_xml(entries: Iterable[str], *, total: int, start: int) -> str:
    body = "".join(entries)
    return f"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/test</id>
  <title>arXiv Query</title>
  <updated>{stamp(BASE)}</updated>
  <opensearch:itemsPerPage>{body.count("<entry>")}</opensearch:itemsPerPage>
  <opensearch:totalResults>{total}</opensearch:totalResults>
  <opensearch:startIndex>{start}</opensearch:startIndex>
{body}</feed>
"""


class FakeArxiv:
    """Answers search requests from a list of papers sorted by `updated`, newest first."""

    def __init__(self, count: int) -> None:
        self.papers: list[tuple[int, dt.datetime]] = []
        self.add_newer(count)

    def add_newer(self, count: int) -> None:
        """Publish `count` papers updated after every paper so far (ids continue the numbering)."""
        newest = self.papers[0][1] if self.papers else BASE
        first = len(self.papers) + 1
        fresh = [(first + i, newest + dt.timedelta(minutes=i + 1)) for i in range(count)]
        self.papers = sorted(fresh, key=lambda p: p[1], reverse=True) + self.papers

    def page(self, start: int, size: int) -> str:
        chosen = self.papers[start:start + size]
        return feed_xml((entry_xml(n, when) for n, when in chosen), total=len(self.papers), start=start)

    def __call__(self, request: Request) -> Reply:
        start, size = int(request.param("start") or 0), int(request.param("max_results") or 10)
        return Reply(200, self.page(start, size))

    @property
    def newest(self) -> str:
        return stamp(self.papers[0][1])


def make_settings(tmp_path: Path, url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'settings.db'}", "arxiv_api_url": url,
        "arxiv_delay_seconds": 0, "arxiv_page_size": 10, "http_backoff_seconds": 0.01,
        "http_timeout_seconds": 10, "http_retries": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def arxiv(fixture_server: FixtureServer) -> FakeArxiv:
    fake = FakeArxiv(25)
    fixture_server.route(API, fake)
    return fake


def starts(server: FixtureServer) -> list[int]:
    return [int(request.param("start") or -1) for request in server.requests_to(API)]


def stop_after_checkpoints(items: Iterable[SourceItem], count: int) -> Iterator[SourceItem]:
    """Pass items on until the `count`-th checkpoint, then stop: an interrupted run."""
    seen = 0
    for item in items:
        yield item
        if isinstance(item, Checkpoint):
            seen += 1
            if seen == count:
                return


# --- queries -----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "expected"), [
    ("cs.LG", ArxivQuery(search_query="cat:cs.LG")),
    ("math.GT", ArxivQuery(search_query="cat:math.GT")),
    ("cs", ArxivQuery(search_query="cat:cs.*")),
    ("hep-th", ArxivQuery(search_query="cat:hep-th")),
    ("hep-th", ArxivQuery(search_query="cat:hep-th")),
    ("cond-mat.mes-hall", ArxivQuery(search_query="cat:cond-mat.mes-hall")),
    ("id:2503.11731,2401.00001v2", ArxivQuery(id_list=("2503.11731", "2401.00001v2"))),
    ("id:arXiv:2503.11731, hep-th/9901001", ArxivQuery(id_list=("2503.11731", "hep-th/9901001"))),
    ("ti:transformer AND cat:cs.LG", ArxivQuery(search_query="ti:transformer AND cat:cs.LG")),
    ("au:Hinton", ArxivQuery(search_query="au:Hinton")),
    ("graph neural networks", ArxivQuery(search_query='all:"graph neural networks"')),
    ("transformer", ArxivQuery(search_query='all:"transformer"')),
    ('say "hello"', ArxivQuery(search_query='all:"say hello"')),
])
def test_query_forms(query: str, expected: ArxivQuery) -> None:
    assert parse_query(query) == expected


@pytest.mark.parametrize(("query", "fragment"), [
    ("", "needs a query"),
    ("id:2503.11731,nonsense", "'nonsense' is not an arXiv id"),
    ("id:", "at least one arXiv id"),
])
def test_bad_queries_say_how_to_fix_them(query: str, fragment: str) -> None:
    with pytest.raises(InputError, match=fragment):
        parse_query(query)


# --- paging and the first run ------------------------------------------------------------------------

@network
def test_first_run_pages_through_all_results(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                                             arxiv: FakeArxiv) -> None:
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert report.added == 25 and report.rejected == 0
    assert store.count_papers() == 25
    requests = fixture_server.requests_to(API)
    assert [(r.param("start"), r.param("max_results")) for r in requests] == [("0", "10"), ("10", "10"),
                                                                              ("20", "10")]
    first = requests[0]
    assert (first.param("search_query"), first.param("sortBy"), first.param("sortOrder")) == (
        "cat:cs.LG", "lastUpdatedDate", "descending")
    assert "paperscope" in first.headers.get("User-Agent", "")
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}
    paper = store.get_paper("2605.00025")
    assert paper is not None and paper.categories == ["cs.LG"] and paper.sources == ["arxiv"]


@network
def test_limit_caps_the_entries_requested(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                                          arxiv: FakeArxiv) -> None:
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG", limit=15)
    assert report.added == 15
    assert [r.param("max_results") for r in fixture_server.requests_to(API)] == ["10", "5"]
    # A first run's limit is the depth of the backfill: the run is complete.
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}


@network
def test_first_run_without_limit_stops_at_the_default(tmp_path: Path, store: Store,
                                                      fixture_server: FixtureServer) -> None:
    fake = FakeArxiv(DEFAULT_FIRST_RUN_LIMIT + 50)
    fixture_server.route(API, fake)
    settings = make_settings(tmp_path, fixture_server.url + API, arxiv_page_size=2000)
    Ingester(store, settings).ingest("arxiv:cs.LG")
    assert [r.param("max_results") for r in fixture_server.requests_to(API)] == [str(DEFAULT_FIRST_RUN_LIMIT)]
    assert store.count_papers() == DEFAULT_FIRST_RUN_LIMIT


@network
def test_id_list_is_sent_as_id_list_and_keeps_no_state(tmp_path: Path, store: Store,
                                                       fixture_server: FixtureServer) -> None:
    fixture_server.route(API, lambda request: Reply(200, feed_xml(
        [entry_xml(1, BASE), entry_xml(2, BASE)], total=2, start=0)))
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:id:2605.00001,2605.00002")
    assert report.added == 2
    (request,) = fixture_server.requests_to(API)
    assert request.param("id_list") == "2605.00001,2605.00002"
    assert request.param("search_query") is None
    assert store.get_sync_state("arxiv:id:2605.00001,2605.00002") is None


@network
def test_pages_without_total_results_end_at_a_short_page(tmp_path: Path, store: Store,
                                                         fixture_server: FixtureServer,
                                                         arxiv: FakeArxiv) -> None:
    def no_totals(request: Request) -> Reply:
        body = arxiv(request).content().decode()
        return Reply(200, re.sub(r"<opensearch:totalResults>\d+</opensearch:totalResults>", "", body))

    fixture_server.route(API, no_totals)
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert report.added == 25
    assert starts(fixture_server) == [0, 10, 20]  # the third page had 5 of 10: the end


# --- transient failures ------------------------------------------------------------------------------

@network
def test_503_is_retried(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                        arxiv: FakeArxiv) -> None:
    fixture_server.reply(API, Reply(503, "busy"), Reply(503, "busy"))
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert report.added == 25
    assert starts(fixture_server) == [0, 0, 0, 10, 20]


@network
def test_timeout_is_retried(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                            arxiv: FakeArxiv) -> None:
    fixture_server.reply(API, Reply(200, arxiv.page(0, 10), delay=3.0))
    settings = make_settings(tmp_path, fixture_server.url + API, http_timeout_seconds=1.0)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert report.added == 25
    assert starts(fixture_server) == [0, 0, 10, 20]


@network
def test_timeouts_that_do_not_end_give_a_clear_error(tmp_path: Path, store: Store,
                                                     fixture_server: FixtureServer) -> None:
    fixture_server.route(API, lambda request: Reply(200, "", delay=0.6))
    settings = make_settings(tmp_path, fixture_server.url + API, http_timeout_seconds=0.2, http_retries=1)
    with pytest.raises(SourceError, match="did not answer .* after 2 attempts"):
        list(arxiv_items("cs.LG", store, settings, limit=None))


@network
def test_empty_page_before_the_end_is_retried(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                                              arxiv: FakeArxiv) -> None:
    empty = Reply(200, feed_xml([], total=25, start=10))
    broken = Reply(200, arxiv.page(10, 10)[:900])  # cut inside an entry
    pages = iter([empty, broken])

    def flaky(request: Request) -> Reply:
        if request.param("start") == "10":
            return next(pages, None) or arxiv(request)
        return arxiv(request)

    fixture_server.route(API, flaky)
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert report.added == 25
    assert report.problems == []  # the broken copy of the page was fetched again, not reported
    assert starts(fixture_server) == [0, 10, 10, 10, 20]


@network
def test_page_that_stays_empty_gives_up_with_a_clear_message(tmp_path: Path, store: Store,
                                                             fixture_server: FixtureServer,
                                                             arxiv: FakeArxiv) -> None:
    def empty_after_first(request: Request) -> Reply:
        start = int(request.param("start") or 0)
        return arxiv(request) if start == 0 else Reply(200, feed_xml([], total=25, start=start))

    fixture_server.route(API, empty_after_first)
    settings = make_settings(tmp_path, fixture_server.url + API)
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    (message,) = report.failed_sources
    assert "no entries at start=10 although it reported 25 results" in message
    assert "again later" in message and "resumes from entry 11" in message
    assert starts(fixture_server) == [0, 10, 10, 10, 10]
    # The first page was committed before the failure, with where to resume.
    assert store.count_papers() == 10
    assert store.get_sync_state(KEY) == {"high_water": None,
                                         "run": {"high_water": arxiv.newest, "next_start": 10}}


ERROR_FEED = """<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <id>http://arxiv.org/api/UWzh+Yg7RhgQkCAe0CazZj6gCc4</id>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">1</opensearch:totalResults>
  <entry>
    <id>http://arxiv.org/api/errors#max_results_must_be_less_than_30000</id>
    <title>Error</title>
    <summary>max_results must be less than 30000</summary>
    <updated>2020-01-17T00:00:00-05:00</updated>
    <author><name>arXiv api core</name></author>
  </entry>
</feed>
"""


@network
def test_error_entry_raises_source_error_with_the_api_message(tmp_path: Path, store: Store,
                                                              fixture_server: FixtureServer) -> None:
    fixture_server.route(API, lambda request: Reply(200, ERROR_FEED))
    settings = make_settings(tmp_path, fixture_server.url + API)
    with pytest.raises(SourceError) as info:
        list(arxiv_items("ti:(broken", store, settings, limit=None))
    message = str(info.value)
    assert "max_results must be less than 30000" in message
    assert "arxiv:ti:(broken" in message and "Check the query" in message
    assert store.count_papers() == 0


@network
def test_error_entry_sent_with_http_400_gives_the_api_message(tmp_path: Path, store: Store,
                                                              fixture_server: FixtureServer) -> None:
    # arXiv sends most error feeds with HTTP 400: the message comes from the body, not the status line.
    fixture_server.route(API, lambda request: Reply(400, ERROR_FEED))
    settings = make_settings(tmp_path, fixture_server.url + API)
    with pytest.raises(SourceError) as info:
        list(arxiv_items("ti:(broken", store, settings, limit=None))
    message = str(info.value)
    assert "max_results must be less than 30000" in message and "Check the query" in message
    assert "<?xml" not in message
    assert len(fixture_server.requests) == 1  # a refusal is not retried


@network
def test_offline_says_so(tmp_path: Path, store: Store) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = make_settings(tmp_path, f"http://127.0.0.1:{port}{API}", http_retries=1)
    with pytest.raises(OfflineError, match="network"):
        list(arxiv_items("cs.LG", store, settings, limit=None))
    # Through the pipeline, the failure is reported and nothing is stored.
    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert len(report.failed_sources) == 1 and "network" in report.failed_sources[0]
    assert store.count_papers() == 0 and store.get_sync_state(KEY) is None


# --- incremental runs and resuming -------------------------------------------------------------------

@network
def test_second_run_fetches_only_newer_entries_and_stops_early(tmp_path: Path, store: Store,
                                                               fixture_server: FixtureServer,
                                                               arxiv: FakeArxiv) -> None:
    settings = make_settings(tmp_path, fixture_server.url + API, arxiv_page_size=5)
    Ingester(store, settings).ingest("arxiv:cs.LG")
    assert store.count_papers() == 25
    first_run_requests = len(fixture_server.requests)
    arxiv.add_newer(3)

    report = Ingester(store, settings).ingest("arxiv:cs.LG")
    assert (report.added, report.updated, report.unchanged) == (3, 0, 0)  # older entries not even yielded
    assert starts(fixture_server)[first_run_requests:] == [0]  # one page was enough
    assert store.count_papers() == 28
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}

    report = Ingester(store, settings).ingest("arxiv:cs.LG")  # nothing new
    assert report.added == 0
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}


@network
def test_interrupted_run_resumes_from_the_last_checkpoint(tmp_path: Path, store: Store,
                                                          fixture_server: FixtureServer,
                                                          arxiv: FakeArxiv) -> None:
    settings = make_settings(tmp_path, fixture_server.url + API, arxiv_page_size=5)
    ingester = Ingester(store, settings)
    items = arxiv_items("cs.LG", store, settings, limit=None)
    assert isinstance(items, Generator)
    ingester.store_items(stop_after_checkpoints(items, 2))  # the run dies after two pages
    items.close()
    assert store.count_papers() == 10
    assert store.get_sync_state(KEY) == {"high_water": None,
                                         "run": {"high_water": arxiv.newest, "next_start": 10}}
    before = len(fixture_server.requests)

    ingester.ingest("arxiv:cs.LG")
    assert starts(fixture_server)[before:] == [10, 15, 20]
    assert store.count_papers() == 25
    # The newest entry was seen by the interrupted part of the run; the completed run keeps it.
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}


@network
def test_limit_on_an_incremental_run_leaves_it_resumable(tmp_path: Path, store: Store,
                                                         fixture_server: FixtureServer,
                                                         arxiv: FakeArxiv) -> None:
    settings = make_settings(tmp_path, fixture_server.url + API, arxiv_page_size=5)
    ingester = Ingester(store, settings)
    ingester.ingest("arxiv:cs.LG")
    old_mark = arxiv.newest
    arxiv.add_newer(12)

    ingester.ingest("arxiv:cs.LG", limit=5)
    assert store.count_papers() == 30
    assert store.get_sync_state(KEY) == {"high_water": old_mark,
                                         "run": {"high_water": arxiv.newest, "next_start": 5}}
    before = len(fixture_server.requests)

    report = ingester.ingest("arxiv:cs.LG")
    assert starts(fixture_server)[before:] == [5, 10]  # stops inside the page that reaches the old mark
    assert report.added == 7
    assert store.count_papers() == 37
    assert store.get_sync_state(KEY) == {"high_water": arxiv.newest}


@network
def test_arxiv_result_cap_is_respected(tmp_path: Path, store: Store, fixture_server: FixtureServer) -> None:
    def deep(request: Request) -> Reply:
        start, size = int(request.param("start") or 0), int(request.param("max_results") or 0)
        entries = (entry_xml(start + i, BASE - dt.timedelta(minutes=start + i)) for i in range(size))
        return Reply(200, feed_xml(entries, total=40_000, start=start))

    fixture_server.route(API, deep)
    store.set_sync_state(KEY, {"high_water": None, "run": {"high_water": stamp(BASE), "next_start": 29_995}})
    settings = make_settings(tmp_path, fixture_server.url + API)
    items = list(arxiv_items("cs.LG", store, settings, limit=100))
    (request,) = fixture_server.requests_to(API)
    assert (request.param("start"), request.param("max_results")) == ("29995", "5")
    assert len([i for i in items if isinstance(i, Entry)]) == 5
    warning = next(i for i in items if isinstance(i, Problem))
    assert not warning.rejected and "at most 30,000 results" in warning.message
    assert items[-1] == Checkpoint(KEY, {"high_water": stamp(BASE)})


# --- politeness --------------------------------------------------------------------------------------

@network
def test_requests_are_spaced_by_the_delay(tmp_path: Path, store: Store, fixture_server: FixtureServer,
                                          arxiv: FakeArxiv) -> None:
    interval = 0.5
    settings = make_settings(tmp_path, fixture_server.url + API, arxiv_delay_seconds=interval)
    Ingester(store, settings).ingest("arxiv:cs.LG")
    arrivals = [request.arrived for request in fixture_server.requests_to(API)]
    assert len(arrivals) == 3
    assert_spaced(arrivals, interval)
