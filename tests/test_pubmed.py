"""PubMed: the real efetch fixture as a file and through `pubmed:` against a local E-utilities server,
baseline/update files (gzip, DeleteCitation), and hostile XML (entity expansion, truncation, no title)."""

from __future__ import annotations

import gzip
import io
import json
import re
import socket
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.errors import InputError, OfflineError, SourceError
from paperscope.ingest.base import Entry, Problem
from paperscope.ingest.detect import detect_format
from paperscope.ingest.pipeline import Ingester
from paperscope.ingest.pubmed import read_pubmed_xml
from paperscope.ingest.pubmed_api import pubmed_items
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.conftest import shared_path
from tests.http_fixture_server import FixtureServer, Reply, Request, assert_spaced
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)

FIXTURE = ("fixtures", "pubmed", "pubmedpy_efetch_6.xml")
PMIDS = ["27094199", "26158728", "25648772", "21736753", "25915600", "20081222"]
BASE = "/entrez/eutils"


@pytest.fixture(scope="module")
def efetch_xml() -> bytes:
    return shared_path("data", *FIXTURE).read_bytes()


def read(data: bytes, origin: str = "efetch.xml") -> tuple[list[Paper], list[Problem]]:
    items = list(read_pubmed_xml(io.BytesIO(data), origin))
    return ([i.paper for i in items if isinstance(i, Entry)], [i for i in items if isinstance(i, Problem)])


def articles(xml: bytes) -> dict[str, bytes]:
    """The fixture's <PubmedArticle> elements by PMID, to serve any subset of them."""
    found = re.findall(rb"<PubmedArticle>.*?</PubmedArticle>", xml, re.S)
    return {re.search(rb"<PMID[^>]*>(\d+)</PMID>", article)[1].decode(): article  # type: ignore[index]
            for article in found}


def article_set(*parts: bytes) -> bytes:
    return (b'<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
            b'2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n<PubmedArticleSet>'
            + b"".join(parts) + b"</PubmedArticleSet>")


def test_efetch_fixture_gives_six_papers_with_every_field(efetch_xml: bytes) -> None:
    papers, problems = read(efetch_xml)

    assert problems == []
    assert [p.ids[-1] for p in papers] == [f"pmid:{pmid}" for pmid in PMIDS]
    assert sum(bool(p.abstract) for p in papers) == 5
    first = papers[0]
    assert first.id == "doi:10.1161/circgenetics.115.001181" and first.doi == "10.1161/circgenetics.115.001181"
    assert first.title == ("Genetic Association-Guided Analysis of Gene Networks for the Study of Complex "
                           "Traits.")
    assert first.authors == ["Casey S Greene", "Daniel S Himmelstein"]
    assert sum(bool(ids) for p in papers for ids in p.author_ids) == 1  # the one ORCID of the file, with dashes
    assert ["orcid:0000-0001-8713-9213"] in [ids for p in papers for ids in p.author_ids]
    assert first.journal_ref == "Circulation. Cardiovascular genetics 9(2)"
    assert str(first.published) == "2016-04-01" and str(first.updated) == "2019-12-10"
    # MeSH: the three major topics first, then the others in their order.
    assert first.categories == ["Gene Regulatory Networks", "Genetic Association Studies",
                                "Quantitative Trait, Heritable", "Confounding Factors, Epidemiologic", "Genomics",
                                "Humans", "Polymorphism, Single Nucleotide"]
    assert first.sources == ["pubmed"] and first.abs_url == "https://pubmed.ncbi.nlm.nih.gov/27094199/"
    second = papers[1]
    assert second.ids == ["doi:10.1371/journal.pcbi.1004259", "pmcid:PMC4497619", "pmid:26158728"]
    assert str(second.published) == "2015-07-09"  # ArticleDate (electronic) before the PubDate
    assert len(second.references) == 72 and "pmid:25161252" in second.references
    structured = papers[3]
    assert structured.abstract.startswith("BACKGROUND: A goal of human genetics")
    assert " RESULTS: " in structured.abstract and " CONCLUSIONS: " in structured.abstract
    assert [len(p.references) for p in papers] == [0, 72, 45, 22, 91, 9]


def test_format_is_detected_plain_and_with_the_doctype(efetch_xml: bytes) -> None:
    assert detect_format(efetch_xml[:4096], "f") == "pubmed"
    assert detect_format(article_set()[:4096], "f") == "pubmed"


def test_inner_markup_medline_dates_collective_authors_and_deletions() -> None:
    article = b"""<PubmedArticle><MedlineCitation><PMID Version="1">9000001</PMID><Article>
      <Journal><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue>
      <Title>J Test</Title></Journal>
      <ArticleTitle>Role of <i>TP53</i> in Ca<sup>2+</sup> signalling</ArticleTitle>
      <Abstract><AbstractText Label="OBJECTIVE">To test.</AbstractText><AbstractText>Unlabelled tail.</AbstractText>
      </Abstract><AuthorList><Author><CollectiveName>The Study Group</CollectiveName></Author>
      <Author><LastName>Curie</LastName><Initials>M</Initials></Author></AuthorList></Article></MedlineCitation>
      </PubmedArticle>"""
    deletion = b"<DeleteCitation><PMID Version='1'>111</PMID><PMID Version='1'>222</PMID></DeleteCitation>"
    papers, problems = read(article_set(article, deletion))

    [paper] = papers
    assert paper.id == "pmid:9000001" and paper.title == "Role of TP53 in Ca2+ signalling"
    assert paper.abstract == "OBJECTIVE: To test. Unlabelled tail."
    assert paper.authors == ["The Study Group", "M Curie"]
    assert str(paper.published) == "1998-12-01" and paper.journal_ref == "J Test"
    [deleted] = problems
    assert not deleted.rejected and deleted.where == "DeleteCitation" and "111, 222" in deleted.message


def test_entity_expansion_is_refused_and_nothing_stored_changes(efetch_xml: bytes, store: Store,
                                                                tmp_path: Path) -> None:
    Ingester(store, Settings()).ingest(str(write(tmp_path / "ok.xml", efetch_xml)))
    before = sorted(store.iter_papers(), key=lambda p: p.id)
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (f'<?xml version="1.0"?><!DOCTYPE PubmedArticleSet [<!ENTITY lol0 "lol">{laughs}]>'
            "<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>27094199</PMID><Article>"
            "<ArticleTitle>&lol9;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>")
    path = write(tmp_path / "laughs.xml", bomb.encode())

    report = Ingester(store, Settings()).ingest(str(path))

    [problem] = report.problems
    assert problem.origin == str(path) and "declares entities" in problem.message
    assert (report.added, report.updated) == (0, 0)
    assert sorted(store.iter_papers(), key=lambda p: p.id) == before


def test_truncated_gzip_keeps_the_articles_before_the_damage(efetch_xml: bytes, store: Store,
                                                             tmp_path: Path) -> None:
    # An update file is large: 20 copies of the fixture, renumbered, cut halfway through.
    def renumbered(article: bytes, n: int) -> bytes:
        return re.sub(rb"<PMID Version=\"1\">(\d+)</PMID>",
                      lambda m: b'<PMID Version="1">%d</PMID>' % (int(m[1]) + n * 10**7), article)
    parts = [renumbered(a, n) for n in range(20) for a in articles(efetch_xml).values()]
    parts = [re.sub(rb"<ArticleId IdType=\"(?:doi|pmc)\">[^<]*</ArticleId>|<ELocationID[^>]*>[^<]*</ELocationID>",
                    b"", a) for a in parts]
    whole = gzip.compress(article_set(*parts))
    path = write(tmp_path / "pubmed26n0001.xml.gz", whole[:len(whole) // 2])

    report = Ingester(store, Settings()).ingest(str(path))

    assert 0 < report.added < 120 and store.count_papers() == report.added
    [problem] = [p for p in report.problems if p.rejected]  # besides: one article has no abstract
    assert problem.origin == str(path) and problem.where == f"after article {report.added}"
    assert "compressed file is damaged or ends early" in problem.message


def test_bad_records_are_reported_and_the_rest_stored(efetch_xml: bytes) -> None:
    kept = articles(efetch_xml)["25648772"]
    untitled = b"<PubmedArticle><MedlineCitation><PMID>123</PMID><Article><ArticleTitle> </ArticleTitle>" \
               b"</Article></MedlineCitation></PubmedArticle>"
    no_pmid = b"<PubmedArticle><MedlineCitation><Article><ArticleTitle>T</ArticleTitle></Article>" \
              b"</MedlineCitation></PubmedArticle>"
    papers, problems = read(article_set(untitled, kept, no_pmid))
    assert [p.id for p in papers] == ["doi:10.7717/peerj.705"]
    assert [(p.where, p.rejected) for p in problems] == [("PMID 123", True), ("article 3", True)]
    assert "no title" in problems[0].message and "no valid PMID" in problems[1].message

    papers, problems = read(article_set(kept).removesuffix(b"</PubmedArticleSet>") + b"<PubmedArticle><Medl")
    assert [p.id for p in papers] == ["doi:10.7717/peerj.705"]
    assert problems[0].where == "after article 1" and "malformed" in problems[0].message
    _, [problem] = read(b"<feed><entry/></feed>")
    assert "not a PubMed XML file" in problem.message


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# --- pubmed:QUERY against a local E-utilities server ------------------------------------------------------

class FakeEutils:
    """esearch (JSON) over a list of PMIDs, efetch (XML) serving the fixture's articles by id."""

    def __init__(self, xml: bytes, pmids: list[str]) -> None:
        self.by_pmid = articles(xml)
        self.pmids = pmids

    def esearch(self, request: Request) -> Reply:
        start, size = int(request.param("retstart") or 0), int(request.param("retmax") or 20)
        ids = self.pmids[start:start + size]
        body = {"header": {"type": "esearch", "version": "0.3"}, "esearchresult": {
            "count": str(len(self.pmids)), "retmax": str(len(ids)), "retstart": str(start), "idlist": ids}}
        return Reply(200, json.dumps(body), {"Content-Type": "application/json"})

    def efetch(self, request: Request) -> Reply:
        ids = (request.param("id") or "").split(",")
        return Reply(200, article_set(*(self.by_pmid[i] for i in ids if i in self.by_pmid)),
                     {"Content-Type": "text/xml"})


def serve(server: FixtureServer, xml: bytes, pmids: list[str]) -> FakeEutils:
    fake = FakeEutils(xml, pmids)
    server.route(f"{BASE}/esearch.fcgi", fake.esearch)
    server.route(f"{BASE}/efetch.fcgi", fake.efetch)
    return fake


def eutils_settings(server: FixtureServer, **values: object) -> Settings:
    return Settings(pubmed_api_url=server.url + BASE, http_backoff_seconds=0.01, http_retries=1,  # type: ignore[arg-type]
                    http_timeout_seconds=5, **values)


@pytest.mark.network
def test_search_gives_the_same_papers_as_the_file(efetch_xml: bytes, store: Store, tmp_path: Path,
                                                  fixture_server: FixtureServer) -> None:
    serve(fixture_server, efetch_xml, PMIDS)
    settings = eutils_settings(fixture_server, contact_email="radar@example.org", ncbi_api_key="k3y")

    report = Ingester(store, settings).ingest("pubmed:himmelstein[au]")

    assert (report.added, report.rejected, [p.where for p in report.problems]) == (6, 0, ["PMID 27094199"])
    with open_store(str(tmp_path / "file.db")) as from_file:
        Ingester(from_file, Settings()).ingest(str(write(tmp_path / "efetch.xml", efetch_xml)))
        assert sorted(from_file.iter_papers(), key=lambda p: p.id) == sorted(store.iter_papers(), key=lambda p: p.id)
    [search] = fixture_server.requests_to(f"{BASE}/esearch.fcgi")
    [fetch] = fixture_server.requests_to(f"{BASE}/efetch.fcgi")
    for request in (search, fetch):
        assert (request.param("tool"), request.param("email"), request.param("api_key")) == \
            ("paperscope", "radar@example.org", "k3y")
    assert search.param("term") == "himmelstein[au]" and search.param("db") == "pubmed"
    assert fetch.param("id") == ",".join(sorted(PMIDS, reverse=True)) and fetch.param("retmode") == "xml"
    # A second run reads only what entered PubMed since the first (by Entrez date).
    Ingester(store, settings).ingest("pubmed:himmelstein[au]")
    later = fixture_server.requests_to(f"{BASE}/esearch.fcgi")[-1]
    assert later.param("datetype") == "edat" and re.fullmatch(r"\d{4}/\d\d/\d\d", later.param("mindate") or "")


@pytest.mark.network
def test_efetch_batches_of_200_at_three_requests_a_second(efetch_xml: bytes, store: Store,
                                                          fixture_server: FixtureServer) -> None:
    pmids = [str(n) for n in range(1000, 1450)]
    serve(fixture_server, efetch_xml, pmids)

    report = Ingester(store, eutils_settings(fixture_server)).ingest("pubmed:anything", limit=450)

    assert report.added == 0
    fetches = fixture_server.requests_to(f"{BASE}/efetch.fcgi")
    assert [len((r.param("id") or "").split(",")) for r in fetches] == [200, 200, 50]
    times = [r.arrived for r in fixture_server.requests]
    assert_spaced(times, 1 / 3)  # no API key: 3 requests a second


@pytest.mark.network
def test_an_interrupted_run_resumes_below_the_last_stored_pmid(efetch_xml: bytes, store: Store,
                                                               fixture_server: FixtureServer) -> None:
    serve(fixture_server, efetch_xml, PMIDS)
    settings = eutils_settings(fixture_server)
    store.set_sync_state("pubmed:genes", {"mindate": "2026/01/01",
                                          "run": {"maxdate": "2026/02/01", "below": 25915600}})

    report = Ingester(store, settings).ingest("pubmed:genes")

    [fetch] = fixture_server.requests_to(f"{BASE}/efetch.fcgi")
    assert fetch.param("id") == "25648772,21736753,20081222" and report.added == 3
    search = fixture_server.requests_to(f"{BASE}/esearch.fcgi")[0]
    assert (search.param("mindate"), search.param("maxdate")) == ("2026/01/01", "2026/02/01")
    assert store.get_sync_state("pubmed:genes") == {"mindate": "2026/02/01"}
    # An interrupted first run resumes to the depth of the backfill (1000): 998 were read, so 2 more.
    store.set_sync_state("pubmed:first", {"run": {"maxdate": "2026/02/01", "below": 25915600, "read": 998}})
    Ingester(store, settings).ingest("pubmed:first")
    assert fixture_server.requests_to(f"{BASE}/efetch.fcgi")[-1].param("id") == "25648772,21736753"
    assert store.get_sync_state("pubmed:first") == {"mindate": "2026/02/01"}


@pytest.mark.network
def test_ids_errors_and_offline_are_clear(efetch_xml: bytes, store: Store, fixture_server: FixtureServer) -> None:
    serve(fixture_server, efetch_xml, PMIDS)
    settings = eutils_settings(fixture_server)
    report = Ingester(store, settings).ingest("pubmed:id:20081222, 021736753")
    assert report.added == 2 and fixture_server.requests_to(f"{BASE}/efetch.fcgi")[0].param("id") == \
        "20081222,21736753"
    with pytest.raises(InputError, match="not a PMID"):
        list(pubmed_items("id:12,abc", store, settings, limit=None))
    fixture_server.reply(f"{BASE}/esearch.fcgi", Reply(200, '{"esearchresult": {"ERROR": "Invalid query"}}'))
    with pytest.raises(SourceError, match="Invalid query"):
        list(pubmed_items("((", store, settings, limit=None))
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    offline = Settings(pubmed_api_url=f"http://127.0.0.1:{port}/eutils", http_retries=0, http_timeout_seconds=1)
    with pytest.raises(OfflineError, match="Cannot reach PubMed"):
        list(pubmed_items("x", store, offline, limit=None))


def test_a_year_beyond_any_calendar_is_no_date_not_a_crash() -> None:
    article = ('<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID Version="1">7</PMID><Article><Journal>'
               "<JournalIssue><PubDate><Year>99999999999999999999</Year></PubDate></JournalIssue></Journal>"
               "<ArticleTitle>Far future</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>")
    papers, problems = read(article.encode())
    assert [p.published for p in papers] == [None] and not [p for p in problems if p.rejected]
