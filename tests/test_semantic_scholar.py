"""Semantic Scholar: the recorded Graph API answers as files and through `s2:` against a local server, the
citation edges of `s2:references:` / `s2:citations:`, and bad input."""

from __future__ import annotations

import dataclasses
import gzip
import io
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.errors import InputError, OfflineError, SourceError
from paperscope.ingest.base import Checkpoint, Entry, Problem
from paperscope.ingest.detect import detect_format
from paperscope.ingest.pipeline import Ingester
from paperscope.ingest.semantic_scholar import read_s2
from paperscope.ingest.semantic_scholar_api import parse_paper_id, s2_items
from paperscope.store import Store, open_store
from paperscope.store.schema import citations
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

SEARCH = "s2_paper_search_turing_100.json"
BATCH = "s2_paper_batch_3.json"
REFERENCES = "s2_paper_references_100.json"
API = "/graph/v1"
CITING = {"paperId": "54e325aee6b2d476bbbb88615ac15e251c6e8214", "externalIds": {"CorpusId": 1033682},
          "title": "Generative Adversarial Nets", "abstract": "We propose a new framework.", "year": 2014,
          "authors": [{"authorId": "153440022", "name": "Ian J. Goodfellow"}]}


def fixture(name: str) -> Path:
    return shared_path("data", "fixtures", "semanticscholar", name)


def read_file(name: str) -> tuple[list[Entry], list[Problem]]:
    with fixture(name).open("rb") as stream:
        items = list(read_s2(stream, name))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def read_bytes(data: bytes, origin: str = "s2.json") -> tuple[list[Entry], list[Problem]]:
    items = list(read_s2(io.BytesIO(data), origin))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


@pytest.fixture
def s2_settings(tmp_path: Path, fixture_server: FixtureServer) -> Settings:
    """Pointed at the local server, with a key (so no 1 s pause between requests) and quick retries."""
    return Settings(database_url=f"sqlite:///{tmp_path / 's2.db'}", s2_api_url=fixture_server.url,
                    s2_api_key="test-key", s2_delay_seconds=0, http_backoff_seconds=0.01, http_timeout_seconds=2,
                    http_retries=2, embedding_model="hashing", background_jobs=False,
                    contact_email="ada@example.org")


def network(spec: str, store: Store, settings: Settings, limit: int | None = None) -> tuple[list[Entry], list[Problem]]:
    items = [i for i in s2_items(spec, store, settings, limit=limit) if not isinstance(i, Checkpoint)]
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def edges(store: Store) -> list[tuple[str, str]]:
    engine = store.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.select(citations.c.citing_ref, citations.c.cited_ref))
        return sorted((str(citing), str(cited)) for citing, cited in rows)


# Files -----------------------------------------------------------------------------------------------------

def test_search_answer_maps_every_field() -> None:
    raw = json.loads(fixture(SEARCH).read_bytes())["data"]
    entries, problems = read_file(SEARCH)
    assert problems == [] and len(entries) == 100
    assert [e.where for e in entries] == [f"paper {n}" for n in range(1, 101)]
    first = entries[0].paper
    assert first.id == "2201.11990"  # the arXiv id is the paper's id
    assert first.ids == ["arxiv:2201.11990", "s2:7cbc2a7843411a1768ab762930707af0a3c33a19", "s2corpus:246411325"]
    assert first.authors[:2] == ["Shaden Smith", "M. Patwary"] and len(first.authors) == 20
    assert first.categories == ["Computer Science"] and first.citation_count == 476
    assert first.published is not None and first.published.isoformat() == "2022-01-28"
    assert first.abs_url == "https://arxiv.org/abs/2201.11990" and first.journal_ref is None
    assert first.sources == ["s2"] and first.abstract.startswith("Pretrained general-purpose language models")
    with_arxiv = [e.paper for e in entries if any(r.startswith("arxiv:") for r in e.paper.ids)]
    assert len(with_arxiv) == 26 and all("." in p.id and ":" not in p.id for p in with_arxiv)
    for entry, record in zip(entries, raw, strict=True):
        paper = entry.paper
        assert f"s2:{record['paperId']}" in paper.ids and f"s2corpus:{record['corpusId']}" in paper.ids
        assert paper.title == " ".join(record["title"].split()) and paper.citation_count == record["citationCount"]
        doi = (record["externalIds"] or {}).get("DOI")
        assert (f"doi:{doi.lower()}" in paper.ids) if doi else not any(r.startswith("doi:") for r in paper.ids)
        if record.get("openAccessPdf") and "ArXiv" not in record["externalIds"]:
            assert paper.pdf_url == record["openAccessPdf"]["url"]
        assert paper.categories[:len(record["fieldsOfStudy"] or [])] == (record["fieldsOfStudy"] or [])
    pmid = [e.paper for e in entries if any(r.startswith("pmid:") for r in e.paper.ids)]
    pmcid = [e.paper for e in entries if any(r.startswith("pmcid:PMC") for r in e.paper.ids)]
    assert (len(pmid), len(pmcid)) == (38, 11)
    royal = next(e.paper for e in entries if e.paper.journal_ref and "Royal Society" in e.paper.journal_ref)
    assert royal.journal_ref.endswith("400, 117 - 97")  # type: ignore[union-attr]
    no_date = [e.paper for e, r in zip(entries, raw, strict=True) if r["publicationDate"] is None]
    assert len(no_date) == 10 and all(p.published and (p.published.month, p.published.day) == (1, 1)
                                      for p in no_date)


def test_batch_and_references_files() -> None:
    entries, problems = read_file(BATCH)
    assert problems == [] and [e.paper.id for e in entries] == [
        "doi:10.2139/ssrn.288970", "doi:10.2139/ssrn.2250500", "doi:10.1257/rct.1355"]
    assert "s2corpus:470667" in entries[0].paper.ids and entries[0].paper.doi == "10.2139/ssrn.288970"
    entries, problems = read_file(REFERENCES)
    assert len(entries) == 100 and all(not e.paper.references and not e.paper.cited_by for e in entries)
    # The file does not say whose references these are: said once, as a warning; nothing is rejected.
    assert len(problems) == 1 and not problems[0].rejected and "s2:references:ID" in problems[0].message
    arxiv_doi = next(e.paper for e in entries if e.paper.id == "2208.04425")
    assert "doi:10.48550/arxiv.2208.04425" in arxiv_doi.ids and arxiv_doi.doi is None  # not a published version


@pytest.mark.parametrize("name", [SEARCH, BATCH, REFERENCES])
def test_saved_answers_are_detected(name: str) -> None:
    assert detect_format(fixture(name).read_bytes()[:4096], name) == "s2"


# Network ---------------------------------------------------------------------------------------------------

def test_search_through_the_api_gives_the_papers_of_the_file(fixture_server: FixtureServer, s2_settings: Settings,
                                                            store: Store) -> None:
    fixture_server.reply(f"{API}/paper/search", Reply(200, fixture(SEARCH).read_bytes()))
    entries, problems = network("turing", store, s2_settings, limit=100)
    assert [e.paper for e in entries] == [e.paper for e in read_file(SEARCH)[0]] and problems == []
    (request,) = fixture_server.requests
    assert request.param("query") == "turing" and request.param("offset") == "0" and request.param("limit") == "100"
    assert set(request.param("fields").split(",")) >= {"externalIds", "abstract", "citationCount", "openAccessPdf"}
    assert request.headers["x-api-key"] == "test-key" and "mailto:ada@example.org" in request.headers["User-Agent"]


def test_search_follows_next_and_resumes_after_an_interruption(fixture_server: FixtureServer,
                                                               s2_settings: Settings, tmp_path: Path) -> None:
    data = json.loads(fixture(SEARCH).read_bytes())["data"]
    failing = {"on": True}

    def page(request: Request) -> Reply:
        offset, limit = int(request.param("offset") or 0), int(request.param("limit") or 100)
        if offset == 80 and failing["on"]:
            return Reply(400, '{"error": "simulated failure"}')
        chunk = data[offset:offset + min(limit, 40)]  # the API may answer fewer than asked
        return Reply(200, json.dumps({"total": 100, "offset": offset, "next": offset + len(chunk), "data": chunk}))

    fixture_server.route(f"{API}/paper/search", page)
    with open_store(s2_settings.database_url) as store:
        report = Ingester(store, s2_settings).ingest("s2:turing", limit=100)
        assert report.added == 80 and "simulated failure" in report.failed_sources[0]
        assert store.get_sync_state("s2:turing") == {"next_offset": 80}
        failing["on"] = False
        report = Ingester(store, s2_settings).ingest("s2:turing", limit=100)
        assert report.added == 20 and report.failed_sources == [] and store.count_papers() == 100
        assert store.get_sync_state("s2:turing") is None  # a completed run forgets its place
    offsets = [(r.param("offset"), r.param("limit")) for r in fixture_server.requests]
    assert offsets == [("0", "100"), ("40", "60"), ("80", "20"), ("80", "20")]


def test_batch_by_every_kind_of_id_reports_unknown_ids(fixture_server: FixtureServer, s2_settings: Settings,
                                                       store: Store) -> None:
    answer = json.loads(fixture(BATCH).read_bytes())
    fixture_server.reply(f"{API}/paper/batch", Reply(200, json.dumps([answer[0], None, answer[1], answer[2]])))
    spec = ("id:CorpusId:470667, https://doi.org/10.1000/NOT-THERE ,doi:10.2139/SSRN.2250500,"
            "0F40B1F08821E22E859C6050916CEC3667778613")
    entries, problems = network(spec, store, s2_settings)
    assert [e.paper for e in entries] == [e.paper for e in read_file(BATCH)[0]]
    (request,) = fixture_server.requests
    assert request.method == "POST" and json.loads(request.body) == {"ids": [
        "CorpusId:470667", "DOI:10.1000/not-there", "DOI:10.2139/ssrn.2250500",
        "0f40b1f08821e22e859c6050916cec3667778613"]}
    assert len(problems) == 1 and problems[0].where == "id DOI:10.1000/not-there" and problems[0].rejected


def test_references_store_the_cited_papers_each_with_its_edge(fixture_server: FixtureServer,
                                                             s2_settings: Settings) -> None:
    # The recorded page says `"next": 100`; the page after it is the last, and empty.
    fixture_server.reply(f"{API}/paper/CorpusId:1033682/references", Reply(200, fixture(REFERENCES).read_bytes()),
                         Reply(200, '{"offset": 100, "data": []}'))
    fixture_server.reply(f"{API}/paper/batch", Reply(200, json.dumps([CITING])))
    with open_store(s2_settings.database_url) as store:
        report = Ingester(store, s2_settings).ingest("s2:references:CorpusId:1033682")
        assert (report.added, report.rejected, report.failed_sources) == (100, 0, [])
        assert store.count_papers() == 100
        stored_edges = edges(store)
        assert len(stored_edges) == 100 and {citing for citing, _ in stored_edges} == {"s2corpus:1033682"}
        file_ids = sorted(e.paper.id for e in read_file(REFERENCES)[0])
        assert sorted(p.id for p in store.iter_papers()) == file_ids
        assert store.get_paper("CorpusId:1033682") is None  # the citing paper is not stored yet
        Ingester(store, s2_settings).ingest("s2:id:CorpusId:1033682")
        assert store.count_papers() == 101 and len(edges(store)) == 100
        citing = store.get_paper("CorpusId:1033682")
        assert citing is not None and citing.id == "s2:" + CITING["paperId"]
        cited, total = store.cited_papers(citing.id, limit=1000)
        assert total == 100 and sorted(p.id for p in cited) == file_ids
        assert [p.title for p in store.citing_papers("2208.04425")[0]] == ["Generative Adversarial Nets"]
    pages = [(r.param("offset"), r.param("limit")) for r in fixture_server.requests if r.method == "GET"]
    assert pages == [("0", "1000"), ("100", "1000")]


def test_citations_store_the_citing_papers_each_with_its_edge(fixture_server: FixtureServer,
                                                             s2_settings: Settings) -> None:
    answer = json.loads(fixture(REFERENCES).read_bytes())
    citing_answer = {"offset": 0, "data": [{"intents": [], "citingPaper": item["citedPaper"]}
                                           for item in answer["data"][1:11]]}
    fixture_server.reply(f"{API}/paper/ARXIV:2208.04425/citations", Reply(200, json.dumps(citing_answer)))
    with open_store(s2_settings.database_url) as store:
        report = Ingester(store, s2_settings).ingest("s2:citations:arXiv:2208.04425v2")
        assert report.added == 10 and store.count_papers() == 10
        assert {cited for _, cited in edges(store)} == {"arxiv:2208.04425"} and len(edges(store)) == 10
        Ingester(store, s2_settings).ingest(str(fixture(REFERENCES)))  # the cited paper arrives: edges resolve
        assert store.citing_papers("2208.04425")[1] == 10


def test_without_a_key_requests_wait_a_second_and_429_honours_retry_after(fixture_server: FixtureServer,
                                                                          s2_settings: Settings,
                                                                          store: Store) -> None:
    settings = s2_settings.model_copy(update={"s2_api_key": None})
    one = json.dumps({"total": 2, "offset": 0, "next": 1, "data": [json.loads(fixture(BATCH).read_bytes())[0]]})
    two = json.dumps({"total": 2, "offset": 1, "data": [json.loads(fixture(BATCH).read_bytes())[1]]})
    fixture_server.reply(f"{API}/paper/search", Reply(200, one), Reply(429, "", {"Retry-After": "2"}),
                         Reply(200, two))
    entries, _ = network("economics", store, settings)
    assert len(entries) == 2
    first, throttled, retried = fixture_server.requests
    assert "x-api-key" not in {k.lower() for k in first.headers}
    assert throttled.arrived - first.arrived >= 0.95 and retried.arrived - throttled.arrived >= 1.95


@pytest.mark.parametrize(("status", "needle"), [(404, "knows no such paper"), (403, "PAPERSCOPE_S2_API_KEY")])
def test_refusals_are_worded(fixture_server: FixtureServer, s2_settings: Settings, store: Store, status: int,
                             needle: str) -> None:
    fixture_server.reply(f"{API}/paper/CorpusId:9/references", Reply(status, '{"error": "Paper not found"}'))
    with pytest.raises(SourceError, match=needle):
        network("references:CorpusId:9", store, s2_settings)


def test_offline_is_a_clear_message(s2_settings: Settings, store: Store) -> None:
    settings = s2_settings.model_copy(update={"s2_api_url": "http://127.0.0.1:9", "http_retries": 0})
    with pytest.raises(OfflineError, match="Cannot reach the Semantic Scholar API"):
        network("turing", store, settings)


@pytest.mark.parametrize(("text", "api", "ref"), [
    ("CorpusId:1033682", "CorpusId:1033682", "s2corpus:1033682"),
    ("corpusid: 01033682", "CorpusId:1033682", "s2corpus:1033682"),
    ("https://doi.org/10.1038/NATURE14539", "DOI:10.1038/nature14539", "doi:10.1038/nature14539"),
    ("DOI:10.1038/Nature14539", "DOI:10.1038/nature14539", "doi:10.1038/nature14539"),
    ("10.1038/nature14539.", "DOI:10.1038/nature14539", "doi:10.1038/nature14539"),
    ("arXiv:1706.03762v5", "ARXIV:1706.03762", "arxiv:1706.03762"),
    ("https://arxiv.org/abs/1706.03762", "ARXIV:1706.03762", "arxiv:1706.03762"),
    ("PMID:19872477", "PMID:19872477", "pmid:19872477"),
    ("PMCID:PMC2323736", "PMCID:2323736", "pmcid:PMC2323736"),
])
def test_paper_ids_in_every_spelling(text: str, api: str, ref: str) -> None:
    assert (parse_paper_id(text).api, parse_paper_id(text).ref) == (api, ref)


@pytest.mark.parametrize("spec", ["", "id:", "id:1033682", "references:", "citations:doi:10.12/x", "id:MAG:123"])
def test_malformed_specs_say_what_is_accepted(spec: str, s2_settings: Settings, store: Store) -> None:
    with pytest.raises(InputError, match="s2:"):
        s2_items(spec, store, s2_settings, limit=None)


# The must-holds ------------------------------------------------------------------------------------

def test_search_then_its_arxiv_papers_as_json_lines_is_one_paper_each(tmp_path: Path) -> None:
    raw = json.loads(fixture(SEARCH).read_bytes())["data"]
    lines = [json.dumps({"id": r["externalIds"]["ArXiv"], "title": r["title"], "abstract": r["abstract"] or "-"})
             for r in raw if "ArXiv" in r["externalIds"]]
    assert len(lines) == 26
    arxiv_file = tmp_path / "arxiv.jsonl"
    arxiv_file.write_text("\n".join(lines) + "\n")
    db = tmp_path / "x.db"
    runner = CliRunner(env={"PAPERSCOPE_DATABASE_URL": str(db), "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    first = runner.invoke(main, ["ingest", "--json", "-q", str(fixture(SEARCH))])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["added"] == 100
    second = runner.invoke(main, ["ingest", "--json", "-q", str(arxiv_file)])
    assert json.loads(second.stdout) == {"added": 0, "updated": 26, "unchanged": 0, "rejected": 0,
                                             "warnings": 0, "failed_sources": 0}
    stats = runner.invoke(main, ["stats", "--json"])
    assert json.loads(stats.stdout)["papers"] == 100

    from fastapi.testclient import TestClient

    from paperscope.web.app import create_app
    from tests.web_support import site_settings

    with TestClient(create_app(site_settings(tmp_path, database_url=f"sqlite:///{db}"))) as client:
        for record in raw:
            arxiv = record["externalIds"].get("ArXiv")
            if arxiv is None:
                continue
            paper = client.get(f"/api/papers/{arxiv}").json()
            assert paper["id"] == arxiv and paper["ids"]["arxiv"] == arxiv
            assert paper["ids"]["s2"] == record["paperId"]
            assert client.get(f"/api/papers/s2:{record['paperId']}", follow_redirects=False).status_code in (200, 301)
        # Authors with a Semantic Scholar id are records: D. Menshykau (2261511) wrote three of the 100.
        found = client.get("/api/authors", params={"q": "Menshykau"}).json()
        assert [(a["ids"], a["papers"]) for a in found] == [(["s2author:2261511"], 3)]
        assert client.get(f"/api/authors/{found[0]['id']}").json()["total"] == 3


# Bad input -------------------------------------------------------------------------------------------------

def test_bad_records_are_reported_and_the_rest_stored(tmp_path: Path) -> None:
    good = json.loads(fixture(BATCH).read_bytes())
    untitled = dict(good[1], title="  ")
    odd = dict(good[2], externalIds={"DOI": "HTTPS://DOI.ORG/10.1257/RCT.1355", "PubMed": "not-a-pmid",
                                     "CorpusId": 255313304}, citationCount=-3, publicationDate="someday")
    entries, problems = read_bytes(json.dumps([good[0], None, untitled, "junk", odd]).encode(), "batch.json")
    assert [e.paper.id for e in entries] == ["doi:10.2139/ssrn.288970", "doi:10.1257/rct.1355"]
    assert "doi:10.1257/rct.1355" in entries[1].paper.ids and entries[1].paper.citation_count is None
    rejected = [(p.where, p.message.split(";")[0]) for p in problems if p.rejected]
    assert rejected == [("paper 2", "null instead of a paper: Semantic Scholar answers so for an id it does not know"),
                        ("paper 3", "no title (field 'title')"),
                        ("paper 4", "expected a JSON object (a Semantic Scholar paper), got a string")]
    warned = sorted(p.message.split(" ")[1] for p in problems if not p.rejected)
    assert warned == ["'citationCount'", "'externalIds.PubMed'", "'publicationDate':"]
    assert all(p.origin == "batch.json" for p in problems)


def test_a_truncated_answer_keeps_the_papers_before_the_cut(tmp_path: Path) -> None:
    data = fixture(SEARCH).read_bytes()
    ids = [r["paperId"] for r in json.loads(data)["data"]]
    cut = data.index(f'"paperId": "{ids[10]}"'.encode()) + 100
    entries, problems = read_bytes(data[:cut], "cut.json")
    assert len(entries) == 10 and f"s2:{ids[9]}" in entries[-1].paper.ids
    assert len(problems) == 1 and problems[0].rejected and "10 papers before it were read" in problems[0].message
    entries, problems = read_bytes(b'{"total": 1, "offset": 0, "data": [{"paperId": ', "broken.json")
    assert entries == [] and "line 1, column" in problems[0].message


def test_bad_files_change_nothing_stored(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}", embedding_model="hashing")
    truncated_gzip = tmp_path / "search.json.gz"
    truncated_gzip.write_bytes(gzip.compress(fixture(SEARCH).read_bytes())[:5000])
    changed = json.loads(fixture(BATCH).read_bytes())
    changed[0] = dict(changed[0], title=None)  # the same paper again, now without a title
    bad_batch = tmp_path / "batch.json"
    bad_batch.write_text(json.dumps(changed))
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(fixture(BATCH)))
        before = sorted(dataclasses.astuple(p) for p in store.iter_papers())
        report = Ingester(store, settings).ingest(str(truncated_gzip), str(bad_batch))
        assert "damaged or truncated" in report.failed_sources[0]
        assert report.rejected == 1 and report.unchanged == 2
        assert sorted(dataclasses.astuple(p) for p in store.iter_papers()) == before



def test_the_background_ingest_takes_every_s2_form(fixture_server: FixtureServer, s2_settings: Settings) -> None:
    from paperscope.ingest.remote import is_network_source

    settings = s2_settings.model_copy(update={
        "ingest_sources": "s2:turing, s2:id:CorpusId:470667 DOI:10.2139/ssrn.2250500,s2:references:CorpusId:1"})
    sources = settings.ingest_source_list()
    assert sources == ["s2:turing", "s2:id:CorpusId:470667 DOI:10.2139/ssrn.2250500", "s2:references:CorpusId:1"]
    assert all(is_network_source(source) for source in sources)
    batch = json.loads(fixture(BATCH).read_bytes())[:2]
    fixture_server.reply(f"{API}/paper/batch", Reply(200, json.dumps(batch)))
    with open_store(settings.database_url) as store:
        report = Ingester(store, settings).store_items(s2_items(sources[1].removeprefix("s2:"), store, settings,
                                                                limit=None))
        assert report.added == 2
    assert json.loads(fixture_server.requests[0].body) == {"ids": ["CorpusId:470667", "DOI:10.2139/ssrn.2250500"]}


def test_a_single_paper_answer_and_an_error_answer() -> None:
    entries, problems = read_bytes(json.dumps(CITING).encode(), "paper.json")
    assert [e.paper.id for e in entries] == ["s2:" + CITING["paperId"]] and problems == []
    assert entries[0].paper.ids == ["s2:" + CITING["paperId"], "s2corpus:1033682"]
    assert entries[0].paper.authors == ["Ian J. Goodfellow"] and str(entries[0].paper.published) == "2014-01-01"
    entries, problems = read_bytes(b'{"error": "Requested object not found"}', "error.json")
    assert entries == [] and "error answer (Requested object not found)" in problems[0].message


def test_a_graph_page_with_a_broken_element_and_a_limit(fixture_server: FixtureServer, s2_settings: Settings,
                                                        store: Store) -> None:
    fixture_server.reply(f"{API}/paper/DOI:10.1000/x/citations", Reply(200, json.dumps(
        {"offset": 0, "next": 2, "data": [{"contexts": []}, {"citingPaper": CITING}]})))
    entries, problems = network("citations:https://doi.org/10.1000/X", store, s2_settings, limit=2)
    assert [e.paper.references for e in entries] == [["doi:10.1000/x"]]
    assert [(p.where, p.message.split(";")[0]) for p in problems] == [
        ("paper 1", "expected an object with the field 'citingPaper' (the paper), got an object without it")]
    (request,) = fixture_server.requests  # the limit is reached: no second page
    assert (request.param("offset"), request.param("limit")) == ("0", "2")
    assert store.get_sync_state("s2:citations:https://doi.org/10.1000/X") is None


def test_the_command_line_reads_s2_through_the_settings_of_the_contract(fixture_server: FixtureServer,
                                                                        tmp_path: Path) -> None:
    fixture_server.reply(f"{API}/paper/CorpusId:1033682/references", Reply(200, fixture(REFERENCES).read_bytes()),
                         Reply(200, '{"offset": 100, "data": []}'))
    runner = CliRunner(env={"PAPERSCOPE_DATABASE_URL": str(tmp_path / "x.db"), "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
                            "PAPERSCOPE_S2_API_URL": fixture_server.url, "PAPERSCOPE_S2_API_KEY": "cli-key",
                            "PAPERSCOPE_S2_DELAY_SECONDS": "0"})
    result = runner.invoke(main, ["ingest", "--json", "-q", "s2:references:CorpusId:1033682"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 100
    assert {r.headers["x-api-key"] for r in fixture_server.requests} == {"cli-key"}
