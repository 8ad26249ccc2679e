"""OpenAlex: the real works responses as files and through `openalex:` against a local server, the snapshot's
JSON Lines (plain, gzip, truncated), damaged input, and incremental, resumable harvests."""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from pathlib import Path
from typing import Any

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.detect import detect_format
from paperscope.ingest.openalex import openalex_items, read_openalex, rebuild_abstract
from paperscope.ingest.pipeline import Ingester
from paperscope.store import Store, open_store
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request, assert_spaced
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

network = pytest.mark.network

SEARCH_49 = ("data", "fixtures", "openalex", "peneira_works_search_49.json")
AUTHOR_4 = ("data", "fixtures", "openalex", "researchhub_author_works_4.json")
# Papers each fixture gives (docs/sources.md, "OpenAlex"): every work is one paper.
EXPECTED = {SEARCH_49: 49, AUTHOR_4: 4}


def read(data: bytes, origin: str = "works.json") -> tuple[list[Entry], list[Problem]]:
    items = list(read_openalex(io.BytesIO(data), origin))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def works(parts: tuple[str, ...]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = json.loads(shared_path(*parts).read_bytes())["results"]
    return results


def stored(store: Store) -> list[tuple[Any, ...]]:
    """What a comparison of two stores looks at: every paper's fields and ids, in id order."""
    papers = sorted(store.iter_papers(), key=lambda p: p.id)
    return [(p.id, p.title, p.abstract, p.authors, p.categories, p.published, p.doi, p.journal_ref, p.ids,
             p.citation_count, p.sources) for p in papers]


@pytest.mark.parametrize("parts", list(EXPECTED))
def test_each_fixture_gives_one_paper_per_work(parts: tuple[str, ...], tmp_path: Path) -> None:
    path = shared_path(*parts)
    assert detect_format(path.read_bytes()[:4096], str(path)) == "openalex"
    with open_store(str(tmp_path / "a.db")) as store:
        report = Ingester(store, Settings()).ingest(str(path))
        assert (report.added, report.rejected) == (EXPECTED[parts], 0)
        assert store.count_papers() == EXPECTED[parts]


def test_a_work_keeps_its_ids_venue_topics_authors_and_references() -> None:
    entries, _ = read(shared_path(*SEARCH_49).read_bytes())
    by_openalex = {ref: e.paper for e in entries for ref in e.paper.ids if ref.startswith("openalex:")}
    # A journal article with an arXiv location is one paper under its arXiv id, its journal DOI kept.
    paper = by_openalex["openalex:W4307407919"]
    assert paper.id == "2208.03461"
    assert paper.ids == ["arxiv:2208.03461", "doi:10.1162/99608f92.18da72db", "openalex:W4307407919"]
    assert paper.doi == "10.1162/99608f92.18da72db" and paper.abs_url == "https://arxiv.org/abs/2208.03461"
    assert paper.journal_ref == "Harvard Data Science Review (2022)"
    assert paper.authors == ["Nicholas Mirin", "Rumi Chunara"]
    assert paper.published == dt.date(2022, 10, 27) and paper.citation_count == 3
    assert len(paper.references) == 19 and all(r.startswith("openalex:W") for r in paper.references)
    assert paper.abstract.startswith("Rapidly evolving technology, data, and analytic landscapes")
    # arXiv's DataCite DOI names the arXiv id; it is no published-version DOI.
    preprint = by_openalex["openalex:W4365441044"]
    assert preprint.id == "2304.04761" and preprint.doi is None
    assert "doi:10.48550/arxiv.2304.04761" in preprint.ids
    # PMID from `ids`; topics as categories, primary first, then its subfield and field; venue with biblio.
    first = by_openalex["openalex:W2068311567"]
    assert first.id == "doi:10.4081/gh.2014.294" and "pmid:25599636" in first.ids
    assert first.categories[0] == "Impact of Climate Change on Human Health"
    assert first.categories[-2:] == ["Health, Toxicology and Mutagenesis", "Environmental Science"]
    assert first.journal_ref == "Geospatial Health 8(3):467 (2014)"


def test_the_abstract_is_rebuilt_from_the_inverted_index_in_word_order() -> None:
    assert rebuild_abstract({"world": [1], "Hello": [0], "again": [3], "hello": [2]}) == ("Hello world hello again",
                                                                                          None)
    text, problem = rebuild_abstract({"word": ["one"]})
    assert text == "" and problem and "'word'" in problem
    assert rebuild_abstract(None) == ("", None)


def test_a_long_topic_name_is_cut_to_a_storable_category() -> None:
    entries, _ = read(shared_path(*AUTHOR_4).read_bytes())
    primary = entries[0].paper.categories[0]
    assert primary == "Consequences of Mortgage Credit Expansion and Housing Market…" and len(primary) <= 64


def test_full_text_in_the_abstract_index_is_cut_with_a_warning() -> None:
    entries, problems = read(shared_path(*SEARCH_49).read_bytes())
    assert len(entries) == 49
    long_ones = [p for p in problems if "characters long" in p.message]
    assert [p.where for p in long_ones] == ["work 30", "work 45", "work 46", "work 47"]
    assert all(not p.rejected for p in long_ones)
    assert max(len(e.paper.abstract) for e in entries) <= 20_000


# --- the snapshot's JSON Lines -------------------------------------------------------------------------------

def snapshot_lines(count: int) -> bytes:
    return b"".join(json.dumps(work).encode() + b"\n" for work in works(SEARCH_49)[:count])


def test_snapshot_lines_plain_and_gzip_give_the_same_papers(tmp_path: Path) -> None:
    plain = tmp_path / "part_000"
    plain.write_bytes(snapshot_lines(49))
    packed = tmp_path / "part_001.gz"
    packed.write_bytes(gzip.compress(snapshot_lines(49)))
    results = []
    for path in (plain, packed):
        with open_store(str(tmp_path / f"{path.name}.db")) as store:
            report = Ingester(store, Settings()).ingest(str(path))
            assert (report.added, report.rejected) == (49, 0)
            results.append(stored(store))
    assert results[0] == results[1]


def test_a_truncated_gzip_snapshot_keeps_the_works_before_the_damage(tmp_path: Path) -> None:
    data = gzip.compress(snapshot_lines(49))
    path = tmp_path / "part_002.gz"
    path.write_bytes(data[: len(data) // 2])
    with open_store(str(tmp_path / "t.db")) as store:
        report = Ingester(store, Settings()).ingest(str(path))
        damage = [p for p in report.problems if "damaged or truncated" in p.message]
        assert len(damage) == 1 and damage[0].origin == str(path) and damage[0].where.startswith("line ")
        kept = int(damage[0].where.split()[1]) - 1
        assert 0 < kept < 49 and report.added == store.count_papers() == kept  # every whole line before the cut


def test_bad_snapshot_lines_are_reported_and_the_rest_kept() -> None:
    good = works(AUTHOR_4)
    untitled = {**good[1], "title": None, "display_name": ""}
    lines = [json.dumps(good[0]), "{not json", json.dumps(untitled), json.dumps(["a", "list"]), json.dumps(good[2])]
    entries, problems = read("\n".join(lines).encode(), "part.jsonl")
    assert len(entries) == 2
    assert [(p.where, p.rejected) for p in problems] == [("line 2", True), ("line 3", True), ("line 4", True)]
    assert "not valid JSON" in problems[0].message
    assert "no title (field 'title')" in problems[1].message and "openalex:W2490425535" in problems[1].message


def test_a_truncated_api_response_keeps_the_works_before_the_cut() -> None:
    data = shared_path(*AUTHOR_4).read_bytes()
    cut = data.index(b'"id": "https://openalex.org/W1976312685"') + 50  # inside the third work
    entries, problems = read(data[:cut])
    assert len(entries) == 2
    assert len(problems) == 1 and "2 works before it were read" in problems[0].message


def test_an_empty_or_damaged_first_line_is_said_so() -> None:
    _, problems = read(b"\n\n")
    assert "empty" in problems[0].message
    with pytest.raises(InputError, match="damaged or truncated"):
        list(read_openalex(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(b"x" * 5000)[:20])), "p.gz"))  # type: ignore[arg-type]


# --- openalex: against a local server ------------------------------------------------------------------------

PAGE = 20


def paged(results: list[dict[str, Any]]) -> Any:
    """Serves `results` like OpenAlex's cursor paging, at most PAGE works a page; a cursor is the next offset."""
    def answer(request: Request) -> Reply:
        cursor = request.param("cursor")
        start = 0 if cursor == "*" else int(cursor or 0)
        size = min(int(request.param("per-page") or PAGE), PAGE)
        page = results[start:start + size]
        following = str(start + size) if start + size < len(results) else None
        body = {"meta": {"count": len(results), "per_page": PAGE, "next_cursor": following}, "results": page}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})
    return answer


def network_settings(server: FixtureServer, **extra: Any) -> Settings:
    return Settings(openalex_api_url=server.url, contact_email="radar@example.org", http_backoff_seconds=0.01,
                    **extra)


@network
def test_the_network_source_gives_the_same_papers_as_the_file(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("/works", paged(works(SEARCH_49)))
    settings = network_settings(fixture_server)
    with open_store(str(tmp_path / "net.db")) as net, open_store(str(tmp_path / "file.db")) as file:
        report = Ingester(net, settings).ingest("openalex:machine learning public health")
        assert (report.added, report.rejected, report.failed_sources) == (49, 0, [])
        Ingester(file, Settings()).ingest(str(shared_path(*SEARCH_49)))
        assert stored(net) == stored(file)
    requests = fixture_server.requests_to("/works")
    assert [r.param("cursor") for r in requests] == ["*", "20", "40"]
    first = requests[0]
    assert first.param("search") == "machine learning public health" and first.param("mailto") == "radar@example.org"
    assert first.param("per-page") == "100" and first.param("filter") is None
    assert_spaced([r.arrived for r in requests], 0.1)  # OpenAlex's 10 requests a second


@network
def test_a_later_run_asks_only_for_works_updated_since_the_last(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("/works", paged(works(AUTHOR_4)))
    settings = network_settings(fixture_server)
    with open_store(str(tmp_path / "inc.db")) as store:
        Ingester(store, settings).ingest("openalex:filter:author.id:A5068835581")
        today = dt.datetime.now(dt.UTC).date().isoformat()
        assert store.get_sync_state("openalex:filter:author.id:A5068835581") == {"since": today}
        report = Ingester(store, settings).ingest("openalex:filter:author.id:A5068835581")
        assert (report.added, report.unchanged) == (0, 4)
    first, second = fixture_server.requests_to("/works")
    assert first.param("filter") == "author.id:A5068835581"
    assert second.param("filter") == f"author.id:A5068835581,from_updated_date:{today}"


@network
def test_an_interrupted_run_resumes_at_its_page(fixture_server: FixtureServer, tmp_path: Path) -> None:
    results = works(SEARCH_49)
    serve = paged(results)
    fixture_server.reply("/works", serve(Request("GET", "/works", {"cursor": ["*"]}, {}, 0.0)), Reply(503), Reply(503))
    settings = network_settings(fixture_server, http_retries=1)
    with open_store(str(tmp_path / "resume.db")) as store:
        report = Ingester(store, settings).ingest("openalex:health")
        assert report.added == PAGE and "did not answer" in report.failed_sources[0]
        state = store.get_sync_state("openalex:health")
        assert state is not None and state["run"]["cursor"] == "20" and state.get("since") is None
        fixture_server.route("/works", serve)
        report = Ingester(store, settings).ingest("openalex:health")
        assert report.added == 49 - PAGE and store.count_papers() == 49
    cursors = [r.param("cursor") for r in fixture_server.requests_to("/works")]
    assert cursors == ["*", "20", "20", "20", "40"]


@network
def test_an_api_key_is_sent_but_never_shown(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("/works", lambda request: Reply(403, json.dumps({"error": "Forbidden", "message": "bad key"})))
    settings = network_settings(fixture_server, openalex_api_key="s3cret-key")
    with open_store(str(tmp_path / "key.db")) as store:
        report = Ingester(store, settings).ingest("openalex:health")
    assert fixture_server.requests[0].param("api_key") == "s3cret-key"
    message = report.failed_sources[0]
    assert "bad key" in message and "HTTP 403" in message and "s3cret-key" not in message


@network
def test_offline_and_bad_specs_are_said_clearly(tmp_path: Path) -> None:
    settings = Settings(openalex_api_url="http://127.0.0.1:9", http_retries=0)
    with open_store(str(tmp_path / "off.db")) as store:
        report = Ingester(store, settings).ingest("openalex:health")
        assert "Cannot reach OpenAlex" in report.failed_sources[0] and "ingest saved files" in report.failed_sources[0]
        for spec, words in (("", "needs a query"), ("filter:", "names no filter")):
            with pytest.raises(InputError, match=words):
                openalex_items(spec, store, settings, limit=None)


@network
def test_first_run_depth_and_limit(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("/works", paged(works(SEARCH_49)))
    with open_store(str(tmp_path / "lim.db")) as store:
        report = Ingester(store, network_settings(fixture_server)).ingest("openalex:health", limit=30)
        assert report.added == 30
        assert set(store.get_sync_state("openalex:health") or {}) == {"since"}  # a backfill ends at its limit
    sizes = [r.param("per-page") for r in fixture_server.requests_to("/works")]
    assert sizes == ["30", "10"]  # the server gave 20 of the 30 asked; the next page asks for the rest


def test_a_work_with_an_arxiv_location_and_the_arxiv_record_are_one_paper(store: Store, tmp_path: Path) -> None:
    arxiv = tmp_path / "arxiv.jsonl"
    record = {"id": "2208.03461v2", "title": "Algorithmic bias in public health", "abstract": "The arXiv abstract.",
              "categories": "cs.CY", "authors": "N. Mirin"}
    arxiv.write_text(json.dumps(record) + "\n")
    for source in (str(arxiv), str(shared_path(*SEARCH_49))):
        Ingester(store, Settings()).ingest(source)
    assert store.count_papers() == 49
    paper = store.get_paper("openalex:W4307407919")
    assert paper is not None and paper.id == "2208.03461" and paper == store.get_paper("doi:10.1162/99608F92.18DA72DB")
    assert sorted(paper.sources) == ["jsonl", "openalex"] and paper.doi == "10.1162/99608f92.18da72db"
    assert paper.journal_ref == "Harvard Data Science Review (2022)" and paper.citation_count == 3


def test_authors_with_openalex_ids_and_orcids_become_records(tmp_path: Path) -> None:
    # The recorded answer is one author's works list: that author is one record holding all four papers.
    with open_store(f"sqlite:///{tmp_path / 'a.db'}") as store:
        Ingester(store, Settings(database_url=f"sqlite:///{tmp_path / 'a.db'}")).ingest(str(shared_path(*AUTHOR_4)))
        author = store.authors.get_author("openalex:A5068835581")
        assert author is not None and author.name == "Yang Wang" and author.papers == 4
        assert author.ids == ["openalex:A5068835581", "orcid:0000-0002-3651-7517"]
        assert store.authors.get_author("orcid:0000-0002-3651-7517") == author
