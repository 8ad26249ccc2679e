"""bioRxiv/medRxiv: a details answer (hand-written from the API's documentation: no real one was found to
record) as a file and through `biorxiv:FROM/TO` against a local server; paging, resume, bad input."""

from __future__ import annotations

import copy
import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.biorxiv import biorxiv_items, read_biorxiv_json
from paperscope.ingest.detect import detect_format
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

FIXTURE = Path(__file__).parent / "fixtures" / "biorxiv_details_2026-01-05.json"
PAGE = "/details/biorxiv/2026-01-05/2026-01-06"


def read(data: bytes) -> tuple[list[Paper], list[Problem]]:
    items = list(read_biorxiv_json(io.BytesIO(data), "details.json"))
    return [i.paper for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def papers_of(store: Store) -> list[Paper]:
    return sorted(store.iter_papers(), key=lambda p: p.id)


def test_details_answer_gives_three_papers_the_published_version_joined(store: Store) -> None:
    report = Ingester(store, Settings()).ingest(str(FIXTURE))

    assert (report.added, report.updated, report.rejected) == (3, 1, 0)  # 4 records, 2 versions of one paper
    papers = {p.id: p for p in papers_of(store)}
    assert set(papers) == {"doi:10.1038/s41477-026-01234-5", "doi:10.1101/2026.01.05.600001",
                           "doi:10.1101/2026.01.05.600002"}
    revised = papers["doi:10.1101/2026.01.05.600002"]
    assert revised.version == 2 and revised.title.endswith("across 33 tumour types")
    assert revised.authors == ["C. Moreau", "A. Singh", "J. Berg"]
    assert (str(revised.published), str(revised.updated)) == ("2026-01-05", "2026-01-06")
    assert revised.categories == ["cancer biology"] and revised.sources == ["biorxiv"]
    joined = papers["doi:10.1038/s41477-026-01234-5"]
    assert joined.ids == ["doi:10.1038/s41477-026-01234-5", "doi:10.1101/2025.11.20.589999"]
    assert joined.doi == "10.1038/s41477-026-01234-5"
    assert joined.abs_url == "https://www.biorxiv.org/content/10.1101/2025.11.20.589999v3"
    # The published version arriving from another source is the same paper.
    store.upsert_papers([Paper(id="doi:10.1038/s41477-026-01234-5", title="Root exudates recruit a nitrogen-fixing "
                               "consortium", doi="10.1038/s41477-026-01234-5", sources=["crossref"])])
    assert store.count_papers() == 3
    assert store.get_paper("doi:10.1101/2025.11.20.589999").sources == ["biorxiv", "crossref"]  # type: ignore[union-attr]
    assert detect_format(FIXTURE.read_bytes()[:4096], "f") == "biorxiv"


def test_bad_records_and_malformed_json_are_reported() -> None:
    answer = json.loads(FIXTURE.read_bytes())
    answer["collection"][1]["title"] = " "
    answer["collection"][2]["doi"] = "not a doi"
    answer["collection"].append("junk")
    papers, problems = read(json.dumps(answer).encode())
    assert [p.id for p in papers] == ["doi:10.1101/2026.01.05.600001", "doi:10.1038/s41477-026-01234-5"]
    assert [(p.where, p.rejected) for p in problems] == [("record 2", True), ("record 3", True), ("record 5", True)]
    assert "no title" in problems[0].message and "'doi'" in problems[1].message

    _, [broken] = read(FIXTURE.read_bytes()[:700])
    assert broken.where.startswith("line ") and "ends early or is malformed" in broken.message
    whole = FIXTURE.read_bytes()
    second = whole.index(b'"title"', whole.index(b'"title"') + 1)  # inside the second record
    kept, [cut] = read(whole[:second])
    assert len(kept) == 1 and "1 record before it was read" in cut.message
    _, [wrong] = read(b'{"notes": []}')
    assert '"collection"' in wrong.message


# --- biorxiv: against a local server --------------------------------------------------------------------

def record(n: int) -> dict[str, Any]:
    return {"doi": f"10.1101/2026.01.05.{700000 + n}", "title": f"Preprint number {n}", "authors": "Doe, J.",
            "date": "2026-01-05", "version": "1", "category": "genomics", "abstract": f"Abstract {n}.",
            "published": "NA", "server": "biorxiv"}


def paged(collection: list[dict[str, Any]]) -> Any:
    def answer(request: Request) -> Reply:
        cursor = int(request.path.split("/")[-2])
        page = collection[cursor:cursor + 100]
        body = {"messages": [{"status": "ok" if page else "no posts found", "interval": "2026-01-05:2026-01-06",
                              "cursor": str(cursor), "count": len(page), "total": str(len(collection))}],
                "collection": page}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})
    return answer


def api_settings(server: FixtureServer) -> Settings:
    return Settings(biorxiv_api_url=server.url, biorxiv_delay_seconds=0, http_backoff_seconds=0.01, http_retries=1,
                    http_timeout_seconds=5, contact_email="radar@example.org")


@pytest.mark.network
def test_the_network_source_gives_the_same_papers_as_the_file(store: Store, tmp_path: Path,
                                                              fixture_server: FixtureServer) -> None:
    fixture_server.reply(f"{PAGE}/0/json", Reply(200, FIXTURE.read_bytes()))

    report = Ingester(store, api_settings(fixture_server)).ingest("biorxiv:2026-01-05/2026-01-06")

    assert (report.added, report.updated, report.rejected) == (3, 1, 0)
    with open_store(str(tmp_path / "file.db")) as from_file:
        Ingester(from_file, Settings()).ingest(str(FIXTURE))
        assert papers_of(from_file) == papers_of(store)
    [request] = fixture_server.requests
    assert "mailto:radar@example.org" in request.headers["User-Agent"]


@pytest.mark.network
def test_pages_by_cursor_with_a_category_and_resumes_after_a_limit(store: Store,
                                                                   fixture_server: FixtureServer) -> None:
    collection = [record(n) for n in range(150)]
    fixture_server.route(f"{PAGE}/0/json", paged(collection))
    fixture_server.route(f"{PAGE}/100/json", paged(collection))
    fixture_server.route(f"{PAGE}/120/json", paged(collection))
    source = "biorxiv:2026-01-05/2026-01-06?category=genomics"
    settings = api_settings(fixture_server)

    first = Ingester(store, settings).ingest(source, limit=120)
    assert first.added == 120 and store.get_sync_state(source) == {"cursor": 120}
    second = Ingester(store, settings).ingest(source)

    assert second.added == 30 and store.count_papers() == 150 and store.get_sync_state(source) is None
    assert [r.path.split("/")[-2] for r in fixture_server.requests] == ["0", "100", "120"]
    assert {r.param("category") for r in fixture_server.requests} == {"genomics"}


def test_specs_are_checked_before_any_request(store: Store) -> None:
    settings = Settings(biorxiv_api_url="http://127.0.0.1:9")
    for spec, message in [("2026-01-31/2026-01-01", "ends before it starts"), ("2026-02-30/2026-03-01", "does not "
                          "exist"), ("last week", "not a date interval")]:
        with pytest.raises(InputError, match=message):
            list(biorxiv_items(spec, store, settings, limit=None))


@pytest.mark.network
def test_an_answer_that_is_not_json_is_a_clear_error(store: Store, fixture_server: FixtureServer) -> None:
    fixture_server.reply(f"{PAGE}/0/json", Reply(200, "<html>maintenance</html>"))
    with pytest.raises(SourceError, match="PAPERSCOPE_BIORXIV_API_URL"):
        list(biorxiv_items("2026-01-05/2026-01-06", store, api_settings(fixture_server), limit=None))


@pytest.mark.network
def test_medrxiv_reads_its_own_server(store: Store, fixture_server: FixtureServer) -> None:
    answer = json.loads(FIXTURE.read_bytes())
    for item in answer["collection"]:
        item["server"] = "medRxiv"
    fixture_server.reply("/details/medrxiv/2026-01-05/2026-01-06/0/json", Reply(200, json.dumps(answer)))

    report = Ingester(store, api_settings(fixture_server)).ingest("medrxiv:2026-01-05/2026-01-06")

    assert report.added == 3 and {p.sources[0] for p in store.iter_papers()} == {"medrxiv"}
    assert {p.abs_url.split("/")[2] for p in store.iter_papers() if p.abs_url} == {"www.medrxiv.org"}


def test_a_preprint_and_its_pubmed_record_are_one_paper_in_any_order(tmp_path: Path) -> None:
    pubmed_article = shared_path("data", "fixtures", "pubmed", "pubmedpy_efetch_6.xml")
    answer = json.loads(FIXTURE.read_bytes())
    first, second = copy.deepcopy(answer["collection"][1]), copy.deepcopy(answer["collection"][2])
    second["published"] = "10.1038/NG.3259"  # the DOI of PMID 25915600 in the PubMed fixture
    files = {"v1.json": {"collection": [first]}, "v2.json": {"collection": [second]}}
    for name, body in files.items():
        (tmp_path / name).write_text(json.dumps(body))
    results = set()
    for n, order in enumerate(itertools.permutations([*files, str(pubmed_article)])):
        with open_store(str(tmp_path / f"{n}.db")) as store:
            for source in order:
                Ingester(store, Settings()).ingest(str(tmp_path / source) if source in files else source)
            assert store.count_papers() == 6
            paper = store.get_paper("pmid:25915600")
            assert paper is not None and paper.version == 2
            # What the merge guarantees whatever the order (as tests/test_paper_ids.py checks it); the order of
            # the categories, and so the primary one, is the first-seen order.
            results.add(tuple(sorted((p.id, tuple(p.ids), p.title, p.abstract, p.version, p.doi, p.published,
                                      p.updated, tuple(sorted(p.sources)), tuple(sorted(p.categories)))
                                     for p in store.iter_papers())))
    assert len(results) == 1
