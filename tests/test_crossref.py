"""Crossref: the real works responses as files and through `crossref:` against a local server, `doi:` look-ups
in every spelling, JATS abstracts as clean text that search finds, containers skipped with a reason, and one
paper for a DOI that OpenAlex and Crossref both describe."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.crossref import doi_items, read_crossref
from paperscope.ingest.detect import detect_format, read_text
from paperscope.ingest.markup import markup_text
from paperscope.ingest.pipeline import Ingester
from paperscope.store import Store, open_store
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request, assert_spaced
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

network = pytest.mark.network

PEERJ_20 = ("data", "fixtures", "crossref", "habanero_journal_peerj_works_ecology_20.json")
BOETTIGER_20 = ("data", "fixtures", "crossref", "habanero_works_query_ecology_boettiger_20.json")
CURSOR_30 = ("data", "fixtures", "crossref", "rcrossref_works_query_ecology_cursor_30.json")
OPENALEX_4 = ("data", "fixtures", "openalex", "researchhub_author_works_4.json")
# Papers each fixture gives (docs/sources.md, "Crossref"): the Boettiger list holds a bioRxiv preprint and its
# journal version, linked by `relation`, so 20 works are 19 papers.
EXPECTED = {PEERJ_20: 20, BOETTIGER_20: 19, CURSOR_30: 30}
TAG = re.compile(r"</?[A-Za-z][\w:.-]*[^<>]*>")


def read(data: bytes, origin: str = "works.json") -> tuple[list[Entry], list[Problem]]:
    items = list(read_crossref(io.BytesIO(data), origin))
    return [i for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)]


def items(parts: tuple[str, ...]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = json.loads(shared_path(*parts).read_bytes())["message"]["items"]
    return found


def response(works: list[dict[str, Any]], **message: Any) -> str:
    return json.dumps({"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
                       "message": {"total-results": len(works), **message, "items": works}})


def stored(store: Store) -> list[tuple[Any, ...]]:
    papers = sorted(store.iter_papers(), key=lambda p: p.id)
    return [(p.id, p.title, p.abstract, p.authors, p.categories, p.published, p.doi, p.journal_ref, p.ids,
             p.citation_count, p.sources) for p in papers]


@pytest.mark.parametrize("parts", list(EXPECTED))
def test_each_fixture_gives_its_papers_with_abstracts_free_of_tags(parts: tuple[str, ...], tmp_path: Path) -> None:
    path = shared_path(*parts)
    assert detect_format(path.read_bytes()[:4096], str(path)) == "crossref"
    with open_store(str(tmp_path / "c.db")) as store:
        report = Ingester(store, Settings()).ingest(str(path))
        assert (report.rejected, store.count_papers()) == (0, EXPECTED[parts])
        for paper in store.iter_papers():
            assert not TAG.search(paper.abstract) and not TAG.search(paper.title), paper.id
            assert "jats" not in paper.abstract and "&amp;" not in paper.journal_ref if paper.journal_ref else True


def test_a_work_keeps_its_dois_venue_authors_and_references() -> None:
    entries, _ = read(shared_path(*PEERJ_20).read_bytes())
    paper = entries[0].paper
    assert paper.id == "doi:10.7717/peerj.14276" and paper.doi == "10.7717/peerj.14276"
    assert paper.title.startswith("We’re building it up to burn it down")
    assert paper.abstract.startswith("Background: Terrestrial biomes in South America")
    assert " Methods: " in paper.abstract
    assert paper.authors[:2] == ["Luisa Maria Diele Viegas", "Lilian Sales"]
    assert paper.journal_ref == "PeerJ 10:e14276 (2022)" and paper.published == dt.date(2022, 10, 25)
    assert paper.citation_count == 9 and len(paper.references) == 58  # the 58 of 75 references with a DOI
    # A journal article and its preprint (`relation`) are one paper: the preprint DOI is one of its ids.
    genome = entries[1].paper
    assert genome.ids == ["doi:10.7287/peerj.preprints.2512", "doi:10.7717/peerj.3162"]
    assert genome.doi == "10.7717/peerj.3162" and genome.title.startswith("The genomic sequence of Exiguobacterium")


def test_a_preprint_and_its_journal_version_are_one_paper(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "b.db")) as store:
        report = Ingester(store, Settings()).ingest(str(shared_path(*BOETTIGER_20)))
        assert (report.added, report.updated) == (19, 1)
        paper = store.get_paper("https://doi.org/10.1101/014852")
        assert paper is not None and paper == store.get_paper("doi:10.1002/ECE3.2314")
        assert {"doi:10.1101/014852", "doi:10.1002/ece3.2314"} <= set(paper.ids)


JATS = """<jats:title>Abstract</jats:title><jats:sec><jats:title>Background</jats:title>
<jats:p>Reed <jats:italic>Phragmites <jats:bold>australis</jats:bold></jats:italic> took up H<jats:sub>2</jats:sub>O
 at <mml:math xmlns:mml="http://www.w3.org/1998/Math/MathML"><mml:semantics><mml:mrow><mml:msup><mml:mi>x</mml:mi>
<mml:mn>2</mml:mn></mml:msup></mml:mrow><mml:annotation encoding="application/x-tex">x^2</mml:annotation>
</mml:semantics></mml:math> rates, <mml:math alttext="\\alpha &lt; 1"><mml:mi>α</mml:mi></mml:math> and
<mml:math><mml:mi>β</mml:mi><mml:mo>=</mml:mo><mml:mn>3</mml:mn></mml:math>&nbsp;(<jats:ext-link
 xlink:href="https://x.org">site</jats:ext-link>).</jats:p></jats:sec>
<jats:sec><jats:title>Results.</jats:title><jats:list><jats:list-item><jats:p>One</jats:p></jats:list-item>
<jats:list-item><jats:p>Two &amp; three</jats:p></jats:list-item></jats:list></jats:sec>"""


def test_jats_with_nested_markup_and_mathml_becomes_clean_text() -> None:
    assert markup_text(JATS) == (
        "Background: Reed Phragmites australis took up H2O at $x^2$ rates, $\\alpha < 1$ and β = 3 (site). "
        "Results. One Two & three")
    # Not well-formed XML (a stray "<", an undeclared prefix): the tags go all the same, the text stays.
    assert markup_text("<jats:p>p < 0.05 and <x:y>q</x:y> &gt; 2</jats:p>") == "p < 0.05 and q > 2"
    assert markup_text('<!DOCTYPE x [<!ENTITY a "aaaa">]><jats:p>&a;</jats:p>') == "&a;"  # no entity expansion
    assert markup_text("<jats:p>Energy <jats:tex-math>\\documentclass{article}\\begin{document}$E=mc^2$"
                       "\\end{document}</jats:tex-math></jats:p>") == "Energy $E=mc^2$"


def test_containers_and_untitled_records_are_reported_and_the_rest_stored(store: Store, tmp_path: Path) -> None:
    works = items(PEERJ_20)[:3]
    journal = {"DOI": "10.7717/peerj", "type": "journal", "title": ["PeerJ"]}
    issue = {"DOI": "10.1111/ele.v25.7", "type": "journal-issue", "title": []}
    untitled = {**works[2], "title": []}
    path = tmp_path / "mixed.json"
    path.write_text(response([works[0], journal, issue, works[1], untitled]))
    report = Ingester(store, Settings()).ingest(str(path))
    assert (report.added, report.rejected, store.count_papers()) == (2, 3, 2)
    reasons = {p.where: p.message for p in report.problems if p.rejected}
    assert "a Crossref 'journal' record (10.7717/peerj) describes a container of papers" in reasons["item 2"]
    assert "'journal-issue'" in reasons["item 3"]
    assert "no title (field 'title')" in reasons["item 5"] and "10.7717/peerj.4188" in reasons["item 5"]


def test_malformed_and_truncated_documents_keep_what_precedes_the_damage() -> None:
    data = shared_path(*PEERJ_20).read_bytes()
    cut = data.index(b'"DOI":"10.7717\\/peerj.4188"')  # inside the third item
    entries, problems = read(data[:cut], "cut.json")
    assert len(entries) == 2 and len(problems) == 1
    assert problems[0].origin == "cut.json" and "2 items before it were read" in problems[0].message
    entries, problems = read(b'{"status": "ok", "message-type": "work-list", "message": {"items": 5}}')
    assert not entries and "message.items" in problems[0].message
    entries, problems = read(b'{"status": "failed", "message-type": "validation-failure", "message": []}')
    assert not entries and "Crossref error" in problems[0].message


def test_a_utf16_file_cut_mid_character_is_an_input_error() -> None:
    with pytest.raises(InputError, match="UTF-16"):
        read_text(io.BytesIO("{}".encode("utf-16")[:-1]), "w.json")


@pytest.mark.search_backend
def test_a_search_for_a_stored_title_finds_that_paper_first(tmp_path: Path) -> None:
    settings = Settings(database_url=str(tmp_path / "s.db"), embedding_model="hashing",
                        index_dir=str(tmp_path / "index"))
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(shared_path(*PEERJ_20)), str(shared_path(*BOETTIGER_20)))
        engine = SearchEngine(store, settings)
        index_papers(engine)
        for paper in list(store.iter_papers())[:12]:
            for mode in ("keyword", "hybrid"):
                hits = engine.search(paper.title, mode=mode, limit=3)
                assert hits and hits[0].id == paper.id, (mode, paper.title)


# --- crossref: and doi: against a local server ---------------------------------------------------------------

def paged(works: list[dict[str, Any]], page: int = 8) -> Any:
    """Serves `works` like Crossref's deep paging: a cursor is the next offset, the last page's cursor leads to
    an empty list."""
    def answer(request: Request) -> Reply:
        cursor = request.param("cursor")
        start = 0 if cursor == "*" else int(cursor or 0)
        size = min(int(request.param("rows") or page), page)
        return Reply(200, response(works[start:start + size], **{"next-cursor": str(start + size),
                                                                  "total-results": len(works)}),
                     {"Content-Type": "application/json"})
    return answer


def network_settings(server: FixtureServer, **extra: Any) -> Settings:
    return Settings(crossref_api_url=server.url, contact_email="radar@example.org", http_backoff_seconds=0.01,
                    **extra)


@network
@pytest.mark.parametrize("parts", list(EXPECTED))
def test_the_network_source_gives_the_same_papers_as_the_file(parts: tuple[str, ...], fixture_server: FixtureServer,
                                                              tmp_path: Path) -> None:
    fixture_server.route("/works", paged(items(parts)))
    with open_store(str(tmp_path / "net.db")) as net, open_store(str(tmp_path / "file.db")) as file:
        report = Ingester(net, network_settings(fixture_server)).ingest("crossref:ecology")
        assert report.failed_sources == [] and net.count_papers() == EXPECTED[parts]
        Ingester(file, Settings()).ingest(str(shared_path(*parts)))
        assert stored(net) == stored(file)
        assert net.get_sync_state("crossref:ecology") == {"since": dt.datetime.now(dt.UTC).date().isoformat()}
    requests = fixture_server.requests_to("/works")
    total = len(items(parts))
    assert [r.param("cursor") for r in requests] == ["*", *(str(n) for n in range(8, total, 8))]
    first = requests[0]
    assert (first.param("query"), first.param("rows"), first.param("mailto")) == ("ecology", "200", "radar@example.org")
    assert "mailto:radar@example.org" in first.headers["User-Agent"]
    assert_spaced([r.arrived for r in requests], 0.2)  # Crossref's 5 requests a second


@network
def test_a_later_search_asks_only_for_works_updated_since(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("/works", paged(items(PEERJ_20)))
    settings = network_settings(fixture_server)
    with open_store(str(tmp_path / "inc.db")) as store:
        Ingester(store, settings).ingest("crossref:ecology")
        report = Ingester(store, settings).ingest("crossref:ecology")
        assert (report.added, report.unchanged) == (0, 20)
    today = dt.datetime.now(dt.UTC).date().isoformat()
    filters = [r.param("filter") for r in fixture_server.requests_to("/works")]
    assert filters == [None] * 3 + [f"from-update-date:{today}"] * 3


@pytest.mark.parametrize("spelling", ["10.7717/peerj.4188", "https://doi.org/10.7717/PEERJ.4188",
                                      "DOI: 10.7717/peerj.4188", "doi:10.7717/peerj.4188", "10.7717%2Fpeerj.4188",
                                      "http://dx.doi.org/10.7717/peerj.4188."])
@network
def test_a_doi_in_any_spelling_is_looked_up(spelling: str, fixture_server: FixtureServer, tmp_path: Path) -> None:
    work = items(PEERJ_20)[2]
    fixture_server.route("/works/10.7717/peerj.4188", lambda request: Reply(200, json.dumps(
        {"status": "ok", "message-type": "work", "message": work})))
    with open_store(str(tmp_path / "doi.db")) as store:
        report = Ingester(store, network_settings(fixture_server)).ingest(f"doi:{spelling}")
        assert (report.added, report.failed_sources) == (1, [])
        assert store.get_paper("doi:10.7717/peerj.4188") is not None
    assert fixture_server.requests[0].param("mailto") == "radar@example.org"


@network
def test_an_unknown_doi_or_a_bad_spec_is_said_clearly(fixture_server: FixtureServer, tmp_path: Path) -> None:
    fixture_server.route("*", lambda request: Reply(404, "Resource not found."))
    settings = network_settings(fixture_server)
    with open_store(str(tmp_path / "x.db")) as store:
        report = Ingester(store, settings).ingest("doi:10.48550/arXiv.2401.00001")
        assert "Crossref has no record of DOI 10.48550/arxiv.2401.00001" in report.failed_sources[0]
        with pytest.raises(InputError, match="is not a DOI"):
            list(doi_items("nature12373", store, settings, limit=None))
        report = Ingester(store, settings.model_copy(update={"crossref_api_url": "http://127.0.0.1:9",
                                                             "http_retries": 0})).ingest("crossref:ecology")
        assert "Cannot reach Crossref" in report.failed_sources[0]
        report = Ingester(store, settings).ingest("crossref: ")
        assert "crossref: needs a query" in report.failed_sources[0]


# --- one paper whatever the source and order ----------------------------------------------------------------

@pytest.mark.parametrize("order", ["openalex first", "crossref first"])
def test_openalex_and_crossref_records_of_one_doi_are_one_paper(order: str, store: Store, tmp_path: Path) -> None:
    """The fixtures share no DOI, so the Crossref record is one of the OpenAlex fixture's works as Crossref
    describes it, its DOI in another spelling."""
    work = json.loads(shared_path(*OPENALEX_4).read_bytes())["results"][0]
    crossref_item = {**items(PEERJ_20)[0], "DOI": "10.1016/J.APGEOG.2016.12.003", "title": [work["title"]],
                     "relation": {}, "is-referenced-by-count": 500, "subject": ["Geography"]}
    openalex_file = tmp_path / "openalex.json"
    openalex_file.write_text(json.dumps({"meta": {"count": 1}, "results": [work]}))
    crossref_file = tmp_path / "crossref.json"
    crossref_file.write_text(response([crossref_item]))
    files = [openalex_file, crossref_file]
    for path in files if order == "openalex first" else files[::-1]:
        Ingester(store, Settings()).ingest(str(path))
    assert store.count_papers() == 1
    paper = store.get_paper("https://doi.org/10.1016/j.apgeog.2016.12.003")
    assert paper is not None and paper.id == "doi:10.1016/j.apgeog.2016.12.003"
    assert sorted(paper.sources) == ["crossref", "openalex"]
    assert paper.ids == ["doi:10.1016/j.apgeog.2016.12.003", "openalex:W2561674923"]
    assert paper.citation_count == 500 and "Geography" in paper.categories
    assert store.get_paper("openalex:W2561674923") == paper
    assert all(Ingester(store, Settings()).ingest(str(path)).unchanged == 1 for path in files)  # idempotent


@pytest.mark.search_backend
@network
def test_the_daily_background_ingest_takes_both_sources(fixture_server: FixtureServer, tmp_path: Path) -> None:
    from paperscope.jobs import BackgroundJobs
    from paperscope.web.services import Services
    from tests.web_support import site_settings

    openalex = json.loads(shared_path(*OPENALEX_4).read_bytes())
    fixture_server.route("/openalex/works", lambda request: Reply(200, json.dumps(openalex)))
    fixture_server.route("/crossref/works", paged(items(PEERJ_20)))
    settings = site_settings(tmp_path, ingest_sources="openalex:filter:author.id:A5068835581,crossref:ecology",
                             openalex_api_url=f"{fixture_server.url}/openalex",
                             crossref_api_url=f"{fixture_server.url}/crossref")
    with open_store(settings.database_url) as store:
        services = Services.create(settings, store)
        status = BackgroundJobs(services.settings, services.store, services.search.engine).run_cycle()
        assert status.state == "done" and status.problems == []
        assert status.added == store.count_papers() == 4 + 20


def test_authors_with_an_orcid_become_one_record_across_their_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'orcid.db'}"
    with open_store(url) as store:
        Ingester(store, Settings(database_url=url)).ingest(str(shared_path(*BOETTIGER_20)))
        (author,) = store.authors.find_authors("boettiger")
        assert (author.name, author.ids, author.papers) == ("Carl Boettiger", ["orcid:0000-0002-1642-628X"], 12)


def test_a_year_beyond_any_calendar_is_no_date_not_a_crash() -> None:
    work = {"DOI": "10.1000/far", "type": "journal-article", "title": ["Far future"],
            "published": {"date-parts": [[10**20, 1, 1]]}}
    entries, problems = read(json.dumps({"status": "ok", "message-type": "work", "message": work}).encode())
    assert [e.paper.published for e in entries] == [None] and not [p for p in problems if p.rejected]
