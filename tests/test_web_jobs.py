"""Background work of `paperscope serve` and submissions by arXiv id, against a local HTTP server that
answers with recorded arXiv and Hugging Face responses (and against a closed port, for offline)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.ingest.pipeline import Ingester
from paperscope.jobs import BackgroundJobs
from paperscope.store import open_store
from paperscope.web import create_app
from paperscope.web.services import Services
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)
from tests.web_support import csrf, sign_up, site_settings

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)


def jobs_of(services: Services) -> BackgroundJobs:
    """The background jobs as `serve` wires them to its services."""
    return BackgroundJobs(services.settings, services.store, services.search.engine,
                          on_papers_changed=services.trending.invalidate)


CLOSED_PORT_URL = "http://127.0.0.1:9/api/query"  # the discard port: nothing listens, the connection is refused


def _recorded(server: FixtureServer) -> dict[str, str]:
    """Serve recorded answers: a category search (one page), an id lookup and the HF daily papers."""
    search = shared_path("data", "fixtures", "arxiv_api", "sotawhat_arxiv_transformer_2026format.xml").read_bytes()
    search = search.replace(b"totalResults>28946<", b"totalResults>5<")  # the recording is one page of five
    by_id = shared_path("data", "fixtures", "arxiv_api", "zoia_arxiv_response.xml").read_bytes()
    daily = shared_path("data", "fixtures", "hf_daily_papers", "sotawhat_hf_daily_papers.json").read_bytes()

    def arxiv(request: Request) -> Reply:
        return Reply(200, by_id if request.param("id_list") else search, {"Content-Type": "application/atom+xml"})

    server.route("/api/query", arxiv)
    server.reply("/api/daily_papers", Reply(200, daily, {"Content-Type": "application/json"}))
    return {"arxiv_api_url": f"{server.url}/api/query", "hf_api_url": f"{server.url}/api/daily_papers"}


def test_cycle_ingests_embeds_and_indexes_the_sources(tmp_path: Path, fixture_server: FixtureServer) -> None:
    settings = site_settings(tmp_path, ingest_sources="arxiv:cs.LG,hf:daily", **_recorded(fixture_server))
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        status = jobs_of(services).run_cycle()
        assert status.state == "done" and status.problems == []
        assert status.added == store.count_papers() == 35 and status.embedded == 35
        assert store.count_papers_to_embed(services.search.embedder.name) == 0
        found = [p.id for _, p in services.search.search("transformer", limit=50)]
        assert "2606.13677" in found
        assert services.search.similar("2606.13677", limit=3)
    requested = fixture_server.requests_to("/api/query")[0]
    assert requested.param("search_query") == "cat:cs.LG"


def test_first_start_on_an_empty_database_ingests_in_the_background(tmp_path: Path,
                                                                    fixture_server: FixtureServer) -> None:
    settings = site_settings(tmp_path, ingest_sources="arxiv:cs.LG,hf:daily", background_jobs=True,
                             **_recorded(fixture_server))
    with TestClient(create_app(settings)) as client:
        deadline = time.monotonic() + 120
        status = client.get("/api/status").json()
        while status["state"] not in ("done", "failed", "offline") and time.monotonic() < deadline:
            time.sleep(0.2)
            status = client.get("/api/status").json()
        assert status["state"] == "done" and status["papers"] == 35
        month = client.get("/api/trending", params={"period": "month", "date": "2026-06-15", "limit": 100}).json()
        assert "2606.13677" in {item["paper"]["id"] for item in month["items"]}
        assert client.get("/api/search", params={"q": "transformer", "mode": "semantic"}).json()["items"]


def test_offline_first_start_says_so_and_shows_how_to_ingest_files(tmp_path: Path) -> None:
    settings = site_settings(tmp_path, ingest_sources="arxiv:cs.LG,arxiv:cs.CV,hf:daily",
                             arxiv_api_url=CLOSED_PORT_URL, hf_api_url="http://127.0.0.1:9/api/daily_papers")
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        services.jobs = jobs_of(services)
        status = services.jobs.run_cycle()
        assert status.state == "offline" and len(status.problems) == 1  # the other sources are not tried
        assert "Cannot reach the arXiv API" in status.problems[0]
        app = create_app(settings, store=store, background_jobs=False)
        with TestClient(app) as client:
            app.state.services.jobs = services.jobs  # after start-up, so the finished cycle is not run again
            html = client.get("/").text
    assert "No network" in html and "paperscope ingest papers.jsonl" in html


def test_submit_by_arxiv_id_fetches_the_metadata(tmp_path: Path, fixture_server: FixtureServer) -> None:
    settings = site_settings(tmp_path, **_recorded(fixture_server))
    with TestClient(create_app(settings)) as client:
        sign_up(client, "submitter@example.org")
        page = client.post("/submit", data={"arxiv_id": "https://arxiv.org/abs/1601.00001v1",
                                            "csrf_token": csrf(client, "/submit")})
        assert page.status_code == 200 and "Added" in page.text and 'href="/papers/1601.00001"' in page.text
        assert fixture_server.requests_to("/api/query")[-1].param("id_list") == "1601.00001"
        assert client.get("/api/papers/1601.00001").status_code == 200
        again = client.post("/api/submissions", json={"arxiv_id": "1601.00001"},
                            headers={"X-CSRF-Token": csrf(client, "/me")})
        assert again.status_code == 201 and again.json()["status"] == "unchanged"
        assert [s["status"] for s in client.get("/api/submissions").json()] == ["unchanged", "added"]
        bad = client.post("/submit", data={"arxiv_id": "not an id", "csrf_token": csrf(client, "/submit")})
        assert bad.status_code == 400 and "is not an id paperscope can fetch" in bad.text


def test_submit_by_doi_pmid_or_openreview_link_fetches_from_that_service(tmp_path: Path,
                                                                           fixture_server: FixtureServer) -> None:
    import json

    from tests.conftest import REPO

    works = json.loads(shared_path("data", "fixtures", "crossref", "habanero_journal_peerj_works_ecology_20.json")
                       .read_bytes())
    work = {"status": "ok", "message-type": "work", "message": works["message"]["items"][0]}  # 10.7717/peerj.14276
    efetch = shared_path("data", "fixtures", "pubmed", "pubmedpy_efetch_6.xml").read_bytes()
    notes = json.loads((REPO / "tests" / "fixtures" / "openreview_notes_iclr2026.json").read_bytes())
    fixture_server.reply("/works/10.7717/peerj.14276", Reply(200, json.dumps(work).encode(),
                                                             {"Content-Type": "application/json"}))
    fixture_server.reply("/efetch.fcgi", Reply(200, efetch, {"Content-Type": "text/xml"}))
    fixture_server.reply("/notes", Reply(200, json.dumps({"notes": notes["notes"][:1], "count": 1}).encode(),
                                         {"Content-Type": "application/json"}))
    settings = site_settings(tmp_path, crossref_api_url=fixture_server.url, pubmed_api_url=fixture_server.url,
                             openreview_api_url=fixture_server.url, openreview_delay_seconds=0)
    with TestClient(create_app(settings)) as client:
        sign_up(client, "submitter@example.org")
        for given, paper_id in [("https://doi.org/10.7717/PEERJ.14276", "doi:10.7717/peerj.14276"),
                                ("https://pubmed.ncbi.nlm.nih.gov/27094199/", "doi:10.1161/circgenetics.115.001181"),
                                ("https://openreview.net/forum?id=aB3xYz9Qw1", "openreview:aB3xYz9Qw1")]:
            page = client.post("/submit", data={"arxiv_id": given, "csrf_token": csrf(client, "/submit")})
            assert page.status_code == 200 and "Added" in page.text, given
            assert f'href="/papers/{paper_id}"' in page.text, given
        assert fixture_server.requests_to("/notes")[-1].param("id") == "aB3xYz9Qw1"
        assert [s["arxiv_id"] for s in client.get("/api/submissions").json()] == [
            "openreview:aB3xYz9Qw1", "pmid:27094199", "doi:10.7717/peerj.14276"]


def test_submit_offline_gives_a_clear_message(tmp_path: Path) -> None:
    settings: Settings = site_settings(tmp_path, arxiv_api_url=CLOSED_PORT_URL)
    with TestClient(create_app(settings)) as client:
        sign_up(client, "offline@example.org")
        page = client.post("/submit", data={"arxiv_id": "2503.11731", "csrf_token": csrf(client, "/submit")})
        assert page.status_code == 502 and "arXiv could not be reached" in page.text
        assert client.get("/api/submissions").json()[0]["status"] == "failed"


def test_cycle_with_file_sources_builds_the_topic_map(tmp_path: Path) -> None:
    from tests.web_support import HF_DAILY, LISTING

    sources = f"{shared_path(*LISTING)},{shared_path(*HF_DAILY)}"  # files work as sources too (no network)
    settings = site_settings(tmp_path, ingest_sources=sources)
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        status = jobs_of(services).run_cycle()
        assert status.state == "done" and status.added == store.count_papers() >= 200
        current = store.topics.current_map()
        assert current is not None and current.n_papers == store.count_papers()
        assert current.model == services.search.embedder.name


def test_papers_added_by_others_are_picked_up_once_and_the_status_goes_quiet(tmp_path: Path) -> None:
    from tests.web_support import LISTING

    settings = site_settings(tmp_path)
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        jobs = jobs_of(services)
        assert jobs.pick_up_changes() == 0  # an empty store: nothing to do
        Ingester(store, settings).ingest(str(shared_path(*LISTING)))  # as `paperscope ingest` would, elsewhere
        added = store.count_papers()
        assert jobs.pick_up_changes() == added and jobs.status.activity == ""
        assert store.count_papers_to_embed(services.search.embedder.name) == 0
        assert jobs.pick_up_changes() == 0  # nothing changed since: one indexed query, no work
        assert services.search.sizes() == (added, added)


def test_the_no_network_notice_shows_where_papers_are_added_until_dismissed(tmp_path: Path) -> None:
    import re

    settings = site_settings(tmp_path, ingest_sources="arxiv:cs.LG", arxiv_api_url=CLOSED_PORT_URL)
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        services.jobs = jobs_of(services)
        assert services.jobs.run_cycle().state == "offline"
        Ingester(store, settings).ingest(str(shared_path("data", "arxiv", "cs", "2025-06-30.jsonl")))  # from files
        app = create_app(settings, store=store, background_jobs=False)
        with TestClient(app) as client:
            app.state.services.jobs = services.jobs
            home = client.get("/").text
            assert "No network" in home and "data-dismiss hidden" in home  # app.js shows the button
            key = re.search(r'data-notice="([0-9a-f]+)"', home)
            assert key
            for path in ("/search?q=graph", "/topics", "/signin", "/papers/2506.21627"):
                page = client.get(path)
                assert "No network" not in page.text, path
            sign_up(client, "newcomer@example.org")
            assert "No network" in client.get("/submit").text
            client.cookies.set("dismissed_notice", key.group(1))  # what app.js sets on "Dismiss"
            assert "No network" not in client.get("/").text
            client.cookies.set("dismissed_notice", "0" * 16)  # another notice was dismissed, not this one
            assert "No network" in client.get("/").text
