"""Reference managers: CSL-JSON and RIS files, `library import` of an export or a Zotero library through the
Web API (against a local server), and the exports of a collection and a library read back into another user."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.errors import SourceError
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.detect import detect_format
from paperscope.ingest.library import LibraryImport, import_library
from paperscope.ingest.pipeline import READERS, Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)
from tests.web_support import sign_up, site_settings

FIXTURES = Path(__file__).parent / "fixtures"
CSL_FILE = FIXTURES / "zotero_library.json"
RIS_FILE = FIXTURES / "mendeley_library.ris"
# Papers already stored before the import: the arXiv paper (known by its arXiv id) and the Cell paper, stored
# from PubMed under its PMID, which the export names only by its DOI.
STORED = [
    Paper(id="1706.03762", title="Attention Is All You Need", authors=["Ashish Vaswani", "Noam Shazeer"],
          categories=["cs.CL"], sources=["arxiv"], abstract="The dominant sequence transduction models..."),
    Paper(id="pmid:31178118", title="Comprehensive Integration of Single-Cell Data.", authors=["Tim Stuart"],
          doi="10.1016/j.cell.2019.05.031", ids=["pmid:31178118", "doi:10.1016/j.cell.2019.05.031"],
          sources=["pubmed"]),
]
MATH_TITLE = r"On Model Selection Consistency of the Lasso: $\ell_1$-Penalised Regression When $p \gg n$"


def parse(path: Path) -> list[Entry | Problem]:
    data = path.read_bytes()
    return list(READERS[detect_format(data[:4096], str(path))](io.BytesIO(data), str(path)))


@pytest.mark.parametrize("path", [CSL_FILE, RIS_FILE], ids=["csljson", "ris"])
def test_reference_manager_files_become_papers(path: Path) -> None:
    papers = {item.paper.title: item.paper for item in parse(path) if isinstance(item, Entry)}
    assert len(papers) == 5
    cell = papers["Comprehensive Integration of Single-Cell Data"]
    assert cell.id == "doi:10.1016/j.cell.2019.05.031" and cell.authors == ["Tim Stuart", "Andrew Butler",
                                                                             "Paul Hoffman"]
    assert cell.journal_ref == "Cell 177(7), 1888-1902.e21 (2019)" and str(cell.published) == "2019-06-13"
    preprint = papers["Attention Is All You Need"]
    assert preprint.id == "1706.03762" and preprint.doi is None  # arXiv's own DOI gives the arXiv id
    chapter = papers["U-Net: Convolutional Networks for Biomedical Image Segmentation"]
    assert chapter.id == "doi:10.1007/978-3-319-24574-4_28" and chapter.journal_ref is not None
    assert chapter.journal_ref.startswith("Medical Image Computing and Computer-Assisted Intervention – MICCAI 2015")
    no_ids = papers["Notes on Running a Journal Club in a Small Lab"]
    assert no_ids.id.startswith("title-") and no_ids.authors == ["Chiamaka Okafor", "The Reading Group Collective"]
    assert papers[MATH_TITLE].id.startswith("title-")  # TeX math kept as written; CSL's <i> tags removed


@pytest.fixture
def stocked(store: Store) -> Store:
    store.upsert_papers(STORED)
    store.accounts.create_user("ada@example.org")
    store.accounts.create_user("grace@example.org")
    return store


def _user(store: Store, email: str) -> int:
    return store.accounts.require_user(email).id


@pytest.mark.parametrize("path", [CSL_FILE, RIS_FILE], ids=["csljson", "ris"])
def test_import_matches_stored_papers_and_reimport_changes_nothing(stocked: Store, settings: Settings,
                                                                   path: Path) -> None:
    ada = _user(stocked, "ada@example.org")
    first = import_library(stocked, settings, ada, str(path))
    assert (first.added, first.updated, first.rejected, first.saved, first.already_saved) == (3, 2, 0, 5, 0)
    library = set(stocked.accounts.library_ids(ada))
    cell = stocked.get_paper("pmid:31178118")  # matched by its DOI (and now known by it: the better id)
    assert cell is not None and cell.sources == ["pubmed", path.suffix == ".ris" and "ris" or "csljson"]
    assert {"1706.03762", cell.id, "doi:10.1007/978-3-319-24574-4_28"} <= library and len(library) == 5
    assert stocked.count_papers() == 5  # the two stored papers were matched, not stored again
    again = import_library(stocked, settings, ada, str(path))
    assert again.as_dict() == {"added": 0, "updated": 0, "unchanged": 5, "rejected": 0, "warnings": 2,
                               "saved": 0, "already_saved": 5}  # warnings: two items have no abstract
    assert set(stocked.accounts.library_ids(ada)) == library


def test_csl_json_and_ris_of_one_library_give_the_same_papers(stocked: Store, settings: Settings) -> None:
    import_library(stocked, settings, _user(stocked, "ada@example.org"), str(CSL_FILE))
    report = import_library(stocked, settings, _user(stocked, "grace@example.org"), str(RIS_FILE))
    assert report.added == 0 and report.saved == 5
    assert (set(stocked.accounts.library_ids(_user(stocked, "ada@example.org")))
            == set(stocked.accounts.library_ids(_user(stocked, "grace@example.org"))))


def test_bad_items_are_reported_by_file_and_item_and_the_rest_stored(stocked: Store, settings: Settings,
                                                                     tmp_path: Path) -> None:
    items = json.loads(CSL_FILE.read_text(encoding="utf-8"))
    del items[2]["title"]
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(items, indent=1)[:-200], encoding="utf-8")  # cut short inside the last item
    ris = tmp_path / "untitled.ris"
    ris.write_text(RIS_FILE.read_text(encoding="utf-8").replace(
        "TI  - Notes on Running a Journal Club in a Small Lab\n", ""), encoding="utf-8")
    ada = _user(stocked, "ada@example.org")
    report = import_library(stocked, settings, ada, str(cut))
    messages = [str(p) for p in report.problems]
    assert any(m.startswith(f"{cut}:item 3: rejected:") and "no title (field 'title')" in m
               and "10.1007/978-3-319-24574-4_28" in m for m in messages), messages
    assert any(m.startswith(f"{cut}:line ") and "malformed" in m and "4 items before it were read" in m
               for m in messages), messages
    assert report.saved == 3  # items 1, 2 and 4: the untitled one is rejected, the damaged last one lost
    report = import_library(stocked, settings, _user(stocked, "grace@example.org"), str(ris))
    assert [str(p) for p in report.problems if p.rejected] == [
        f"{ris}:record 4 (line 55): rejected: the record has no title (a 'TI  - ' or 'T1  - ' line); add one in "
        "the reference manager, or remove the record if it is not a paper"]
    assert report.saved == 4


def test_ris_record_without_end_line_is_read_with_a_warning(tmp_path: Path) -> None:
    text = RIS_FILE.read_text(encoding="utf-8")
    cut = tmp_path / "cut.ris"
    cut.write_text(text[:text.rindex("ER  -")], encoding="utf-8")
    items = parse(cut)
    assert sum(isinstance(i, Entry) for i in items) == 5
    [warning] = [i for i in items if isinstance(i, Problem)]
    assert not warning.rejected and warning.where == "record 5 (line 64)" and "no end line" in warning.message


def test_ingest_detects_csl_json_and_ris(store: Store, settings: Settings) -> None:
    report = Ingester(store, settings).ingest(str(CSL_FILE), str(RIS_FILE))
    assert (report.added, report.rejected) == (5, 0) and store.count_papers() == 5


def test_library_import_command(tmp_path: Path) -> None:
    env = {"PAPERSCOPE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    runner = CliRunner()
    assert runner.invoke(main, ["users", "add", "ada@example.org"], env=env).exit_code == 0
    result = runner.invoke(main, ["library", "import", "ada@example.org", str(RIS_FILE)], env=env)
    assert result.exit_code == 0, result.output
    assert ("ada@example.org: papers: added 5, updated 0, unchanged 0, rejected 0; library: saved 5, already in "
            "the library 0") in result.output
    again = runner.invoke(main, ["library", "import", "ada@example.org", str(RIS_FILE), "--json"], env=env)
    assert json.loads(again.stdout)["already_saved"] == 5
    wrong = runner.invoke(main, ["library", "import", "ada@example.org", "zotero:me"], env=env)
    assert wrong.exit_code == 1 and "zotero:USER_ID" in wrong.output


# --- the Zotero Web API ---------------------------------------------------------------------------------------

def _api_item(key: str, csl: dict[str, object], item_type: str = "journalArticle") -> dict[str, object]:
    return {"key": key, "version": 12, "library": {"type": "user", "id": 8642317},
            "data": {"key": key, "itemType": item_type}, "csljson": csl}


def _zotero_pages() -> tuple[list[dict[str, object]], list[dict[str, object]]]:
    items = json.loads(CSL_FILE.read_text(encoding="utf-8"))
    first = [_api_item(f"K{n}", item) for n, item in enumerate(items[:3])]
    second = [_api_item(f"K{n + 3}", item) for n, item in enumerate(items[3:])]
    second.append(_api_item("NOTE1", {"id": "x", "type": "document", "title": "My reading notes"}, "note"))
    return first, second


@pytest.fixture
def zotero(fixture_server: FixtureServer) -> FixtureServer:
    first, second = _zotero_pages()
    base = fixture_server.url + "/users/8642317/items/top"

    def answer(request: Request) -> Reply:
        if request.param("start") in (None, "0"):
            return Reply(200, json.dumps(first), headers={
                "Content-Type": "application/json", "Total-Results": "6", "Backoff": "1",
                "Link": f'<{base}?format=json&include=csljson&limit=100&start=3>; rel="next", '
                        f'<{base}?format=json&include=csljson&limit=100&start=3>; rel="last"'})
        return Reply(200, json.dumps(second), headers={"Content-Type": "application/json", "Total-Results": "6"})

    fixture_server.route("/users/8642317/items/top", answer)
    return fixture_server


def test_zotero_library_is_read_page_by_page(stocked: Store, settings: Settings, zotero: FixtureServer) -> None:
    settings = settings.model_copy(update={"zotero_api_url": zotero.url, "zotero_api_key": "P9NiFoyLeZu2bZNvvuQPDWsd"})
    ada = _user(stocked, "ada@example.org")
    report = import_library(stocked, settings, ada, "zotero:8642317")
    assert (report.added, report.updated, report.saved, report.rejected) == (3, 2, 5, 0)
    cell = stocked.get_paper("pmid:31178118")
    assert cell is not None and {"1706.03762", cell.id} <= set(stocked.accounts.library_ids(ada))
    first, second = zotero.requests_to("/users/8642317/items/top")
    assert first.param("format") == "json" and first.param("include") == "csljson" and first.param("limit") == "100"
    assert second.param("start") == "3"
    for request in (first, second):
        headers = {k.lower(): v for k, v in request.headers.items()}
        assert headers["zotero-api-version"] == "3" and headers["zotero-api-key"] == "P9NiFoyLeZu2bZNvvuQPDWsd"
    assert second.arrived - first.arrived >= 1.0  # the Backoff header of the first answer was honoured
    again = import_library(stocked, settings, ada, "zotero:8642317")
    assert (again.added, again.updated, again.unchanged, again.saved, again.already_saved) == (0, 0, 5, 0, 5)


def test_zotero_pages_by_total_results_without_a_usable_link_and_retries_after_429(
        stocked: Store, settings: Settings, fixture_server: FixtureServer) -> None:
    first, second = _zotero_pages()
    path = "/users/42/items/top"
    fixture_server.reply(path, Reply(429, "Too many requests", headers={"Retry-After": "1"}),
                         # A next link to another host is not followed: the key goes to the configured API only.
                         Reply(200, json.dumps(first), headers={"Total-Results": "6", "Link": (
                             '<http://zotero.invalid/users/42/items/top?start=3>; rel="next"')}),
                         Reply(200, json.dumps(second), headers={"Total-Results": "6"}))
    settings = settings.model_copy(update={"zotero_api_url": fixture_server.url, "zotero_api_key": "k"})
    started = time.monotonic()
    report = import_library(stocked, settings, _user(stocked, "ada@example.org"), "zotero:42")
    assert report.saved == 5 and time.monotonic() - started >= 1.0
    assert [r.param("start") for r in fixture_server.requests_to(path)] == ["0", "0", "3"]


def test_private_zotero_library_without_key_says_which_setting(stocked: Store, settings: Settings,
                                                               fixture_server: FixtureServer) -> None:
    fixture_server.reply("/users/42/items/top", Reply(403, "Forbidden"))
    settings = settings.model_copy(update={"zotero_api_url": fixture_server.url})
    with pytest.raises(SourceError, match="PAPERSCOPE_ZOTERO_API_KEY is not set"):
        import_library(stocked, settings, _user(stocked, "ada@example.org"), "zotero:42")


# --- exports --------------------------------------------------------------------------------------------------

@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[TestClient, Settings]]:
    from paperscope.web import create_app

    settings = site_settings(tmp_path)
    with open_store(settings.database_url) as store:
        store.upsert_papers(STORED)
    with TestClient(create_app(settings)) as client:
        yield client, settings


MEDIA_TYPES = {"bibtex": "application/x-bibtex", "csljson": "application/vnd.citationstyles.csl+json",
               "ris": "application/x-research-info-systems"}


@pytest.mark.parametrize("fmt", ["csljson", "ris"])
def test_library_export_reimported_by_another_user_gives_the_same_library(
        site: tuple[TestClient, Settings], tmp_path: Path, fmt: str) -> None:
    client, settings = site
    sign_up(client, "ada@example.org")
    with open_store(settings.database_url) as store:
        store.accounts.create_user("grace@example.org")
        ada, grace = _user(store, "ada@example.org"), _user(store, "grace@example.org")
        import_library(store, settings, ada, str(CSL_FILE))
    response = client.get(f"/me/library/{fmt}")
    assert response.status_code == 200 and response.headers["content-type"].startswith(MEDIA_TYPES[fmt])
    assert response.headers["content-disposition"].startswith('attachment; filename="library.')
    exported = tmp_path / f"export.{fmt}"
    exported.write_bytes(response.content)
    with open_store(settings.database_url) as store:
        report = import_library(store, settings, grace, str(exported))
        assert (report.added, report.rejected, report.saved) == (0, 0, 5)
        assert set(store.accounts.library_ids(grace)) == set(store.accounts.library_ids(ada))


def test_collection_exports_in_every_format(site: tuple[TestClient, Settings]) -> None:
    client, settings = site
    sign_up(client, "ada@example.org")
    with open_store(settings.database_url) as store:
        ada = _user(store, "ada@example.org")
        collection = store.accounts.create_collection(ada, "Reading group")
        cell = store.get_paper("pmid:31178118")
        assert cell is not None
        store.accounts.add_to_collection(collection.id, ["1706.03762", cell.id], owner_id=ada)
    answers = {fmt: client.get(f"/collections/{collection.id}/{fmt}") for fmt in MEDIA_TYPES}
    for fmt, answer in answers.items():
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(MEDIA_TYPES[fmt])
    csl = {item["title"]: item for item in answers["csljson"].json()}
    assert csl["Attention Is All You Need"]["number"] == "arXiv:1706.03762"
    assert csl["Comprehensive Integration of Single-Cell Data."]["DOI"] == "10.1016/j.cell.2019.05.031"
    assert csl["Comprehensive Integration of Single-Cell Data."]["PMID"] == "31178118"
    ris = answers["ris"].text
    assert ris.startswith("TY  - ") and ris.count("ER  - ") == 2 and "DO  - 10.1016/j.cell.2019.05.031" in ris
    anonymous = TestClient(client.app)
    assert anonymous.get(f"/collections/{collection.id}/ris").status_code == 404  # private: not even its existence
    assert anonymous.get("/me/library/ris", follow_redirects=False).status_code in (303, 401)


def test_library_import_report_reads_as_words() -> None:
    report = LibraryImport(added=1, unchanged=2, saved=1, already_saved=2)
    assert report.summary() == ("papers: added 1, updated 0, unchanged 2, rejected 0; library: saved 1, already in "
                                "the library 2")


def test_a_file_of_no_ris_records_says_what_a_record_looks_like(tmp_path: Path, stocked: Store,
                                                               settings: Settings) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("Provider: nobody\nTI  - a tag line outside any record\n", encoding="utf-8")
    report = import_library(stocked, settings, _user(stocked, "ada@example.org"), str(junk), fmt="ris")
    assert [str(p) for p in report.problems] == [
        f"{junk}: rejected: no RIS record found (a record starts with a line 'TY  - JOUR' and ends with 'ER  - '); "
        "export the library again as RIS"]
    assert report.saved == 0


@pytest.mark.search_backend
def test_search_result_exports_in_every_format(tmp_path: Path) -> None:
    from paperscope.index.search import SearchEngine
    from paperscope.indexing import index_papers
    from paperscope.web import create_app

    settings = site_settings(tmp_path)
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(CSL_FILE))
        index_papers(SearchEngine(store, settings))
    with TestClient(create_app(settings)) as client:
        for fmt, media_type in MEDIA_TYPES.items():
            answer = client.get(f"/search/{fmt}", params={"q": "attention", "mode": "keyword", "limit": 5})
            assert answer.status_code == 200 and answer.headers["content-type"].startswith(media_type), answer.text
            assert "Attention Is All You Need" in answer.text
            assert answer.headers["content-disposition"].startswith('attachment; filename="search.')
