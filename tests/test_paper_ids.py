"""One record per paper, whatever the source: papers that share any id are one paper, whose id is the best
of its ids, whatever order the records arrive in; citation edges resolve as their papers arrive."""

import dataclasses
import datetime as dt
import itertools

import pytest

from paperscope.ids import canonical_id, derived_id, id_ref, normalise_doi, parse_paper_ref
from paperscope.models import Paper
from paperscope.store import Outcome, Store, open_store

PUBLISHED = Paper(id="doi:10.1038/s41586-021-03819-2", title="Highly accurate protein structure prediction",
                  abstract="The published abstract.", authors=["John Jumper"], categories=["Biology"],
                  doi="10.1038/s41586-021-03819-2", published=dt.date(2021, 7, 15), sources=["crossref"],
                  citation_count=20000)
PREPRINT = Paper(id="2107.00001", title="Highly accurate protein structure prediction with AlphaFold",
                 abstract="The preprint abstract.", authors=["John Jumper", "Richard Evans"], categories=["q-bio.BM"],
                 doi="10.1038/S41586-021-03819-2", published=dt.date(2021, 7, 1), version=1, sources=["arxiv"])
PUBMED = Paper(id="pmid:34265844", title="Highly accurate protein structure prediction with AlphaFold.",
               authors=["Jumper J"], categories=["Proteins"], sources=["pubmed"],
               ids=["doi:10.1038/s41586-021-03819-2", "pmcid:PMC8371605", "pmid:34265844"])
SEMANTIC = Paper(id="s2:" + "a" * 40, title="Highly accurate protein structure prediction with AlphaFold",
                 authors=["J. Jumper"], sources=["s2"], citation_count=25000,
                 ids=["arxiv:2107.00001", "pmid:34265844", "s2corpus:235959867", "s2:" + "a" * 40])


@pytest.mark.parametrize(("text", "ref"), [
    ("https://doi.org/10.1038/NATURE12373", "doi:10.1038/nature12373"),
    ("http://dx.doi.org/10.1038/nature12373", "doi:10.1038/nature12373"),
    ("doi:10.1038/Nature12373", "doi:10.1038/nature12373"),
    ("DOI: 10.1038/nature12373.", "doi:10.1038/nature12373"),
    ("10.1038/nature12373", "doi:10.1038/nature12373"),
    ("arXiv:2107.00001v3", "arxiv:2107.00001"),
    ("pmid:034265844", "pmid:34265844"),
    ("PMC8371605", "pmcid:PMC8371605"),
    ("CorpusId:235959867", "s2corpus:235959867"),
    ("https://openreview.net/forum?id=rJl-b3RcF7", "openreview:rJl-b3RcF7"),
    ("openalex:https://openalex.org/w2741809807", "openalex:W2741809807"),
    ("not an id", None),
    ("10.12/too-short-a-prefix", None),
])
def test_every_spelling_of_an_id_gives_one_reference(text: str, ref: str | None) -> None:
    assert parse_paper_ref(text) == ref


def test_the_paper_id_is_its_best_reference() -> None:
    assert canonical_id(["doi:10.1/x", "pmid:1", "arxiv:2107.00001"]) == "2107.00001"
    assert canonical_id(["pmid:5", "doi:10.1234/b", "doi:10.1234/a"]) == "doi:10.1234/a"
    assert canonical_id(["paperscope:title-abc"]) is None
    assert normalise_doi("urn:isbn:123") is None
    assert id_ref("openalex", "W12") == "openalex:W12"


def test_records_sharing_any_id_are_one_paper_with_every_id(store: Store) -> None:
    assert store.upsert_papers([PUBLISHED]) == [Outcome.ADDED]
    assert store.upsert_papers([PREPRINT]) == [Outcome.UPDATED]  # the DOI joins them; the arXiv id wins
    assert store.upsert_papers([PUBMED, SEMANTIC]) == [Outcome.UPDATED, Outcome.UPDATED]
    assert store.count_papers() == 1
    paper = store.get_paper("2107.00001")
    assert paper is not None
    assert paper.ids == sorted(["arxiv:2107.00001", "doi:10.1038/s41586-021-03819-2", "pmcid:PMC8371605",
                            "pmid:34265844", "s2:" + "a" * 40, "s2corpus:235959867"])
    assert paper.citation_count == 25000 and paper.published == dt.date(2021, 7, 1)
    assert sorted(paper.sources) == ["arxiv", "crossref", "pubmed", "s2"]
    for spelling in ["doi:10.1038/s41586-021-03819-2", "https://doi.org/10.1038/S41586-021-03819-2",
                     "pmid:34265844", "PMC8371605", "CorpusId:235959867", "arXiv:2107.00001v1"]:
        found = store.get_paper(spelling)
        assert found is not None and found.id == "2107.00001", spelling
    assert store.upsert_papers([PUBLISHED, PREPRINT, PUBMED, SEMANTIC]) == [Outcome.UNCHANGED] * 4


def test_the_stored_papers_do_not_depend_on_the_order_of_sources(tmp_path) -> None:  # type: ignore[no-untyped-def]
    other = Paper(id="doi:10.1000/other", title="Another paper", doi="10.1000/other", sources=["crossref"])
    records = [PUBLISHED, PREPRINT, PUBMED, SEMANTIC, other]
    results = set()
    for n, order in enumerate(itertools.permutations(records)):
        with open_store(f"sqlite:///{tmp_path / f'{n}.db'}") as store:
            for record in order:
                store.upsert_papers([record])
            results.add(tuple(sorted((p.id, tuple(p.ids), p.citation_count, p.published, tuple(sorted(p.sources)))
                                     for p in store.iter_papers())))
        if n >= 30:  # 120 orders in all; 31 cover every position of every record (enough, and quick)
            break
    assert len(results) == 1
    ((ids_of_first, *_), (ids_of_second, *_)) = sorted(results.pop())
    assert (ids_of_first, ids_of_second) == ("2107.00001", "doi:10.1000/other")


def test_one_batch_gives_what_one_record_at_a_time_gives(store: Store) -> None:
    assert store.upsert_papers([SEMANTIC, PUBLISHED, PUBMED, PREPRINT])[0] is Outcome.ADDED
    assert [p.id for p in store.iter_papers()] == ["2107.00001"]


def test_two_arxiv_papers_given_one_doi_stay_two_papers(store: Store) -> None:
    first = dataclasses.replace(PREPRINT, id="2107.00002", title="First", doi="10.1000/proceedings")
    second = dataclasses.replace(PREPRINT, id="2107.00003", title="Second", doi="10.1000/proceedings")
    store.upsert_papers([first])
    store.upsert_papers([second])
    assert sorted(p.id for p in store.iter_papers()) == ["2107.00002", "2107.00003"]
    found = store.get_paper("doi:10.1000/proceedings")
    assert found is not None and found.id == "2107.00002"  # the DOI stays with the paper that had it first


def test_users_rows_follow_a_paper_whose_id_gets_better(store: Store) -> None:
    store.upsert_papers([PUBLISHED])
    user = store.accounts.create_user("ada@example.org")
    store.accounts.set_library_state(user.id, [PUBLISHED.id], "saved")
    store.upsert_papers([PREPRINT])
    assert store.accounts.library_ids(user.id) == ["2107.00001"]
    old = store.get_paper(PUBLISHED.id)
    assert old is not None and old.id == "2107.00001"  # the old id still reaches the paper


def test_a_title_only_record_is_absorbed_and_its_id_still_reaches_the_paper(store: Store) -> None:
    title_only = Paper(id=derived_id(PREPRINT.title), title=PREPRINT.title, authors=["John Jumper"],
                       sources=["bibtex"])
    store.upsert_papers([title_only])
    store.upsert_papers([PREPRINT])
    found = store.get_paper(title_only.id)
    assert found is not None and found.id == "2107.00001"
    assert f"paperscope:{title_only.id}" in found.ids


def test_citation_edges_resolve_when_their_papers_arrive(store: Store) -> None:
    citing = Paper(id="2401.00001", title="A paper that cites", sources=["s2"],
                   references=["doi:10.1038/s41586-021-03819-2", "arxiv:1706.03762"])
    store.upsert_papers([citing])
    assert _cited(store, "2401.00001") == []
    store.upsert_papers([PUBLISHED])
    assert _cited(store, "2401.00001") == [PUBLISHED.id]
    store.upsert_papers([PREPRINT])  # the cited paper's id changes; the edge follows
    assert _cited(store, "2401.00001") == ["2107.00001"]
    assert _citing(store, "2107.00001") == ["2401.00001"]
    attention = Paper(id="1706.03762", title="Attention is all you need", sources=["arxiv"],
                      cited_by=["s2corpus:999"])
    store.upsert_papers([attention])
    assert _cited(store, "2401.00001") == ["1706.03762", "2107.00001"]
    store.upsert_papers([Paper(id="s2:" + "b" * 40, title="Cites attention", ids=["s2corpus:999"])])
    assert _citing(store, "1706.03762") == ["2401.00001", "s2:" + "b" * 40]
    store.upsert_papers([citing, attention])  # the same edges again change nothing
    papers, total = store.cited_papers("2401.00001", limit=1)
    assert total == 2 and len(papers) == 1


def _cited(store: Store, paper_id: str) -> list[str]:
    return sorted(p.id for p in store.cited_papers(paper_id)[0])


def _citing(store: Store, paper_id: str) -> list[str]:
    return sorted(p.id for p in store.citing_papers(paper_id)[0])


def test_the_web_answers_at_every_id_and_lists_citations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from paperscope.web.app import create_app
    from tests.web_support import site_settings

    settings = site_settings(tmp_path)
    citing = Paper(id="2401.00001", title="A paper that cites AlphaFold", sources=["s2"],
                   references=["doi:10.1038/s41586-021-03819-2"])
    with open_store(settings.database_url) as store:
        store.upsert_papers([PUBLISHED, PREPRINT, PUBMED, SEMANTIC, citing])
    with TestClient(create_app(settings)) as client:
        page = client.get("/papers/doi:10.1038/S41586-021-03819-2", follow_redirects=False)
        assert page.status_code == 301 and page.headers["location"] == "/papers/2107.00001"
        page = client.get("/papers/2107.00001")
        assert "PMC8371605" in page.text and "25000" in page.text and "A paper that cites AlphaFold" in page.text
        paper = client.get("/api/papers/pmid:34265844").json()
        assert paper["id"] == "2107.00001" and paper["citation_count"] == 25000
        assert paper["ids"] == {"arxiv": "2107.00001", "doi": "10.1038/s41586-021-03819-2", "pmid": "34265844",
                                "pmcid": "PMC8371605", "s2": "a" * 40}
        citations = client.get("/api/papers/2107.00001/citations").json()
        assert [p["id"] for p in citations["items"]] == ["2401.00001"] and citations["total"] == 1
        references = client.get("/api/papers/2401.00001/references").json()
        assert [p["id"] for p in references["items"]] == ["2107.00001"]
        assert client.get("/api/papers/doi:10.9999/nothing/citations").status_code == 404


def test_ids_and_citations_are_bounded_before_they_are_stored() -> None:
    from paperscope.ingest.base import Entry
    from paperscope.ingest.validate import check_entry

    long_doi = "doi:10.1000/" + "x" * 400
    paper, problems = check_entry(Entry("s2.json", "record 3", dataclasses.replace(PUBLISHED, references=[long_doi])))
    assert paper is None and problems[0].origin == "s2.json" and "over the limit of 300" in problems[0].message
    paper, problems = check_entry(Entry("x.json", "record 1", dataclasses.replace(PUBLISHED, id="doi:" + "9" * 80)))
    assert paper is None and "over the limit of 64" in problems[0].message
    # A DOI too long to be an id is still one of the paper's references; the paper takes another id.
    assert canonical_id(["doi:10.1000/" + "x" * 60, "pmid:7"]) == "pmid:7"


def test_semantic_scholar_and_arxiv_records_of_the_same_papers_give_one_database_in_any_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The recorded Semantic Scholar answers (search, batch, references) beside arXiv JSON Lines records of the
    papers among them that have an arXiv id, ingested one source after another in every order."""
    import json

    from paperscope.config import Settings
    from paperscope.ingest.pipeline import Ingester
    from tests.conftest import shared_path

    folder = shared_path("data", "fixtures", "semanticscholar")
    s2_files = [folder / name for name in ("s2_paper_search_turing_100.json", "s2_paper_batch_3.json",
                                           "s2_paper_references_100.json")]
    records = [*json.loads(s2_files[0].read_text())["data"],
               *(item["citedPaper"] for item in json.loads(s2_files[2].read_text())["data"])]
    arxiv_file = tmp_path / "arxiv.jsonl"
    with arxiv_file.open("w") as out:
        for record in records:
            if arxiv := (record.get("externalIds") or {}).get("ArXiv"):
                out.write(json.dumps({  # the arXiv bulk snapshot's fields
                    "id": arxiv, "title": record["title"], "abstract": record.get("abstract") or "An abstract.",
                    "authors": " and ".join(a["name"] for a in record["authors"]), "categories": "cs.LG stat.ML",
                    "versions": [{"version": "v1", "created": "Mon, 2 Jan 2023 10:00:00 GMT"}],
                    "update_date": "2023-01-02"}) + "\n")
    sources = [*s2_files, arxiv_file]
    databases: dict[str, tuple[str, ...]] = {}
    for n, order in enumerate(itertools.permutations(sources)):
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'{n}.db'}", embedding_model="hashing")
        with open_store(settings.database_url) as store:
            for source in order:
                report = Ingester(store, settings).ingest(str(source))
                assert report.rejected == 0 and report.failed_sources == []
            papers = tuple(repr(dataclasses.replace(p, sources=sorted(p.sources))) for p in store.iter_papers())
            databases[" then ".join(path.name for path in order)] = papers
    first, *others = databases.values()
    for order, papers in databases.items():
        assert set(papers) ^ set(first) == set(), order
    assert len(first) == 203  # the three answers share no paper; every arXiv record joins its S2 record


def test_records_that_contradict_each_other_never_break_a_batch(store: Store) -> None:
    # Each record but the first names two PubMed ids: as one batch (the store's own guard) the batch is stored
    # whole, every id reaching a stored paper; through validation such a record is refused, naming both ids.
    from paperscope.ingest.base import Entry
    from paperscope.ingest.validate import check_entry

    first = Paper(id="pmid:5", title="First", ids=["pmid:5"], categories=["A"])
    others = [Paper(id="pmid:5", title=f"Other {n}", ids=["pmid:5", f"pmid:{5 + 100 * n}"], categories=["A"])
              for n in range(1, 6)]
    outcomes = store.upsert_papers([first, *others])
    assert len(outcomes) == 6
    stored = {p.id for p in store.iter_papers()}
    for n in range(1, 6):
        found = store.get_paper(f"pmid:{5 + 100 * n}")
        assert found is not None and found.id in stored
    paper, problems = check_entry(Entry("x.xml", "article 2", others[0]))
    assert paper is None and "two pmid ids (105 and 5)" in problems[0].message


def test_two_openalex_works_of_one_arxiv_paper_are_one_paper_with_both(store: Store) -> None:
    # OpenAlex holds duplicate works; the arXiv id they share outranks the OpenAlex ids they differ in.
    first = Paper(id="2208.03461", title="A paper", doi="10.1000/journal.1", sources=["openalex"],
                  ids=["arxiv:2208.03461", "doi:10.1000/journal.1", "openalex:W4307407919"])
    duplicate = Paper(id="2208.03461", title="A paper", sources=["openalex"],
                      ids=["arxiv:2208.03461", "doi:10.48550/arxiv.2208.03461", "openalex:W999"])
    for batches in ([[first], [duplicate]], [[first, duplicate]], [[duplicate], [first]]):
        with open_store("sqlite:///:memory:") as fresh:
            for batch in batches:
                fresh.upsert_papers(batch)
            (paper,) = list(fresh.iter_papers())
            assert {"openalex:W4307407919", "openalex:W999", "doi:10.1000/journal.1"} <= set(paper.ids)
            assert paper.doi == "10.1000/journal.1"


@pytest.mark.search_backend
def test_similar_lifts_papers_tied_by_citations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from paperscope.index.search import SearchEngine
    from paperscope.indexing import index_papers
    from tests.web_support import site_settings

    settings = site_settings(tmp_path)
    topics = ["graph clustering of citation networks", "protein folding with deep networks",
              "galaxy rotation curves and dark matter", "coral reef ecology under warming"]
    papers = [Paper(id=f"2601.{n:05d}", title=f"{topics[n % 4]} study {n}", abstract=f"We study {topics[n % 4]}.")
              for n in range(1, 41)]
    with open_store(settings.database_url) as store:
        store.upsert_papers(papers)
        engine = SearchEngine(store, settings)
        index_papers(engine)
        before = [h.id for h in engine.similar("2601.00001", limit=5)]
        assert "2601.00002" not in before  # protein folding shares no word with graph clustering
        # A review cites 2601.00001 beside 2601.00002 twice over (two reviews): co-cited, so similar.
        store.upsert_papers([Paper(id=f"2602.0000{n}", title=f"A review {n}",
                                   references=["arxiv:2601.00001", "arxiv:2601.00002"]) for n in (1, 2)])
        assert store.citation_neighbours("2601.00001")[0] == ("2601.00002", 2)
        after = [h.id for h in engine.similar("2601.00001", limit=5)]
        assert "2601.00002" in after[:3] and "2601.00001" not in after


@pytest.mark.search_backend
def test_recommendations_lift_papers_tied_to_the_library_by_citations(tmp_path) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("sklearn", reason="recommendations need the digest extra: pip install 'paperscope[digest]'")
    from paperscope.index.search import SearchEngine
    from paperscope.indexing import index_papers
    from paperscope.recommend.engine import Recommender
    from tests.web_support import site_settings

    settings = site_settings(tmp_path)
    topics = ["graph clustering of citation networks", "protein folding with deep networks",
              "galaxy rotation curves and dark matter", "coral reef ecology under warming"]
    with open_store(settings.database_url) as store:
        store.upsert_papers([Paper(id=f"2601.{n:05d}", title=f"{topics[n % 4]} study {n}",
                                   abstract=f"We study {topics[n % 4]}.") for n in range(1, 41)])
        index_papers(SearchEngine(store, settings))
        user = store.accounts.create_user("reader@example.org")
        store.accounts.set_library_state(user.id, ["2601.00001"], "saved")
        store.upsert_papers([Paper(id=f"2602.0000{n}", title=f"A review {n}",
                                   references=["arxiv:2601.00001", "arxiv:2601.00002"]) for n in (1, 2)])
        plain = [r.paper.id for r in Recommender(store, settings, citations=False).recommend(user.id, limit=5)]
        tied = Recommender(store, settings).recommend(user.id, limit=5)
        assert "2601.00002" not in plain and "2601.00002" in [r.paper.id for r in tied]
        why = next(r.why.text() for r in tied if r.paper.id == "2601.00002")
        assert "cited together with" in why
