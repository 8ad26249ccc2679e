"""OpenReview API v2: a `/notes` answer (hand-written from the API's documentation: no real one was found to
record) as a file and through `openreview:VENUE_ID` against a local server; paging, resume, bad input."""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path
from typing import Any

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError, SourceError
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.detect import detect_format
from paperscope.ingest.openreview import openreview_items, read_openreview_json
from paperscope.ingest.pipeline import Ingester
from paperscope.ingest.remote import is_network_source
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

FIXTURE = Path(__file__).parent / "fixtures" / "openreview_notes_iclr2026.json"
VENUE = "ICLR.cc/2026/Conference"


def read(data: bytes) -> tuple[list[Paper], list[Problem]]:
    items = list(read_openreview_json(io.BytesIO(data), "notes.json"))
    return [i.paper for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def papers_of(store: Store) -> list[Paper]:
    return sorted(store.iter_papers(), key=lambda p: p.id)


def test_notes_answer_gives_three_papers_with_venue_and_decision() -> None:
    papers, problems = read(FIXTURE.read_bytes())

    assert problems == [] and len(papers) == 3
    poster, oral, rejected = papers
    assert poster.id == "openreview:aB3xYz9Qw1" and poster.ids == ["openreview:aB3xYz9Qw1"]
    assert poster.title == "Sparse Mixtures of Experts Learn Modular Skills"
    assert poster.abstract == "We study when sparse mixtures of experts learn modular skills. Experts specialise early."
    assert poster.authors == ["Lena Fischer", "Omar Haddad"]
    assert poster.categories == [VENUE, "foundation or frontier models", "mixture of experts", "modularity",
                                 "continual learning"]
    assert (poster.journal_ref, poster.comment) == ("ICLR 2026 Poster", "ICLR 2026 Poster")
    assert (str(poster.published), str(poster.updated)) == ("2026-02-01", "2026-02-03")  # pdate, mdate
    assert poster.abs_url == "https://openreview.net/forum?id=aB3xYz9Qw1"
    assert poster.pdf_url == "https://openreview.net/pdf?id=aB3xYz9Qw1" and poster.sources == ["openreview"]
    assert oral.journal_ref == "ICLR 2026 Oral"
    # Rejected: the same venue category, no journal_ref, the venue text kept; cdate when there is no pdate.
    assert rejected.categories[0] == VENUE and rejected.journal_ref is None
    assert rejected.comment == "Submitted to ICLR 2026" and str(rejected.published) == "2025-09-22"
    assert rejected.pdf_url is None
    assert detect_format(FIXTURE.read_bytes()[:4096], "f") == "openreview"
    assert detect_format(b'{"id": "2503.11731", "title": "T", "notes": ["a", {"x": 1}]}\n', "f") == "jsonl"


def test_bad_notes_and_malformed_json_are_reported(store: Store, tmp_path: Path) -> None:
    Ingester(store, Settings()).ingest(str(FIXTURE))
    before = papers_of(store)
    answer = json.loads(FIXTURE.read_bytes())
    answer["notes"][0]["content"]["title"] = {"value": ""}
    answer["notes"][1]["forum"] = "bad id with spaces"
    answer["notes"][1]["id"] = None
    answer["notes"].append({"id": "x"})
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(answer))

    report = Ingester(store, Settings()).ingest(str(path))

    assert [(p.where, p.rejected) for p in report.problems] == [
        ("note 1 (aB3xYz9Qw1)", True), ("note 2", True), ("note 4", True)]
    assert "no title" in report.problems[0].message and "not an OpenReview id" in report.problems[1].message
    assert report.unchanged == 1 and papers_of(store) == before
    _, [broken] = read(FIXTURE.read_bytes()[:500])
    assert "ends early or is malformed" in broken.message
    whole = FIXTURE.read_bytes()
    second = whole.index(b'"forum"', whole.index(b'"forum"') + 1)  # inside the second note
    kept, [cut] = read(whole[:second])
    assert len(kept) == 1 and "1 note before it was read" in cut.message
    _, [wrong] = read(b'{"collection": []}')
    assert '"notes"' in wrong.message


# --- openreview: against a local server -----------------------------------------------------------------

def paged(notes: list[dict[str, Any]]) -> Any:
    def answer(request: Request) -> Reply:
        offset, limit = int(request.param("offset") or 0), int(request.param("limit") or 1000)
        chosen = [n for n in notes if n["content"]["venueid"]["value"] == request.param("content.venueid")]
        body = {"notes": chosen[offset:offset + limit], "count": len(chosen)}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})
    return answer


def api_settings(server: FixtureServer) -> Settings:
    return Settings(openreview_api_url=server.url, openreview_delay_seconds=0, http_backoff_seconds=0.01,
                    http_retries=1, http_timeout_seconds=5)


@pytest.mark.network
def test_the_venue_gives_the_same_papers_as_the_file(store: Store, tmp_path: Path,
                                                     fixture_server: FixtureServer) -> None:
    fixture_server.reply("/notes", Reply(200, FIXTURE.read_bytes()))

    report = Ingester(store, api_settings(fixture_server)).ingest(f"openreview:{VENUE}")

    assert (report.added, report.rejected) == (3, 0)
    with open_store(str(tmp_path / "file.db")) as from_file:
        Ingester(from_file, Settings()).ingest(str(FIXTURE))
        assert papers_of(from_file) == papers_of(store)
    [request] = fixture_server.requests
    assert (request.param("content.venueid"), request.param("offset")) == (VENUE, "0")


@pytest.mark.network
def test_pages_by_offset_and_resumes_after_a_limit(store: Store, fixture_server: FixtureServer) -> None:
    template = json.loads(FIXTURE.read_bytes())["notes"][0]
    notes = []
    for n in range(1500):
        note = copy.deepcopy(template)
        note["id"] = note["forum"] = f"note{n:05d}"
        note["content"]["title"] = {"value": f"Paper {n}"}
        notes.append(note)
    fixture_server.route("/notes", paged(notes))
    settings = api_settings(fixture_server)

    first = Ingester(store, settings).ingest(f"openreview:{VENUE}", limit=1200)
    assert first.added == 1200 and store.get_sync_state(f"openreview:{VENUE}") == {"offset": 1200}
    second = Ingester(store, settings).ingest(f"openreview:{VENUE}/")

    assert second.added == 300 and store.count_papers() == 1500
    assert store.get_sync_state(f"openreview:{VENUE}") is None
    assert [(r.param("offset"), r.param("limit")) for r in fixture_server.requests] == [
        ("0", "1000"), ("1000", "200"), ("1200", "1000")]


@pytest.mark.network
def test_unknown_venue_refusals_and_bad_specs_are_clear(store: Store, fixture_server: FixtureServer) -> None:
    fixture_server.route("/notes", paged([]))
    settings = api_settings(fixture_server)
    report = Ingester(store, settings).ingest("openreview:ICLR.cc/2062/Conference")
    assert report.added == 0 and "no notes have the venue id" in report.problems[0].message
    fixture_server.reply("/notes", Reply(403, '{"name": "ForbiddenError", "message": "Forbidden"}'))
    with pytest.raises(SourceError, match="refused the request.*403"):
        list(openreview_items(VENUE, store, settings, limit=None))
    fixture_server.reply("/notes", Reply(200, "not json"))
    with pytest.raises(SourceError, match="PAPERSCOPE_OPENREVIEW_API_URL"):
        list(openreview_items(VENUE, store, settings, limit=None))
    with pytest.raises(InputError, match="does not name a venue"):
        list(openreview_items("ICLR 2026", store, settings, limit=None))


def test_the_background_ingest_takes_the_new_sources() -> None:
    settings = Settings(ingest_sources="pubmed:crispr[tiab], biorxiv:7d,medrxiv:2026-01-01/2026-01-31,"
                                       f"openreview:{VENUE}")
    sources = settings.ingest_source_list()
    assert len(sources) == 4 and all(is_network_source(source) for source in sources)
