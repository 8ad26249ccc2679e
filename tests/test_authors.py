"""Authors that sources name by an id become records of their own: found by any of their ids, with every
spelling of their name, listed with their papers, followed, found by name."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from paperscope.ids import author_ref
from paperscope.index.search import SearchEngine
from paperscope.indexing import index_papers
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.web_support import site_settings

ORCID = "https://orcid.org/0000-0002-1825-0097"


def paper(number: int, authors: list[str], author_ids: list[list[str]], **fields: object) -> Paper:
    return Paper(id=f"2601.{number:05d}", title=f"Paper {number}", abstract="Text.", authors=authors,
                 author_ids=author_ids, published=dt.date(2026, 1, number), **fields)  # type: ignore[arg-type]


def test_author_ids_normalise() -> None:
    assert author_ref("orcid", ORCID) == "orcid:0000-0002-1825-0097"
    assert author_ref("orcid", "0000-0002-1825-009x") == "orcid:0000-0002-1825-009X"
    assert author_ref("openalex", "https://openalex.org/a5023888391") == "openalex:A5023888391"
    assert author_ref("s2author", "1741101") == "s2author:1741101"
    assert author_ref("orcid", "not an orcid") is None


def test_one_person_across_sources_is_one_record_with_every_spelling(store: Store) -> None:
    openalex = author_ref("openalex", "A1")
    s2 = author_ref("s2author", "77")
    orcid = author_ref("orcid", ORCID)
    assert openalex and s2 and orcid
    store.upsert_papers([paper(1, ["Josiah Carberry", "Ada Lovelace"], [[openalex], []])])
    store.upsert_papers([paper(2, ["J. Carberry"], [[s2]])])
    assert len(store.authors.find_authors("carberry")) == 2  # two records until something links them
    store.upsert_papers([paper(3, ["Carberry, Josiah"], [[openalex, s2, orcid]])])  # an ORCID beside both ids
    found = store.authors.find_authors("carberry")
    assert len(found) == 1
    author = found[0]
    assert author.ids == sorted([openalex, s2, orcid]) and author.papers == 3
    assert author.names == ["Josiah Carberry", "J. Carberry", "Carberry, Josiah"]
    papers, total = store.authors.papers_of(author.id)
    assert total == 3 and [p.id for p in papers] == ["2601.00003", "2601.00002", "2601.00001"]
    by_orcid = store.authors.get_author(orcid)
    assert by_orcid is not None and by_orcid.id == author.id
    assert list(store.authors.authors_of("2601.00001")) == [0]  # Ada Lovelace has no id: no record
    assert store.authors.find_authors("lovelace") == []


def test_author_rows_follow_a_paper_whose_id_gets_better(store: Store) -> None:
    orcid = author_ref("orcid", ORCID)
    assert orcid
    store.upsert_papers([Paper(id="doi:10.1000/j.x", title="A published paper", doi="10.1000/j.x",
                               authors=["Josiah Carberry"], author_ids=[[orcid]])])
    store.upsert_papers([Paper(id="2601.00009", title="A published paper", doi="10.1000/J.X",
                               authors=["Josiah Carberry"])])
    author = store.authors.get_author(orcid)
    assert author is not None
    assert [p.id for p in store.authors.papers_of(author.id)[0]] == ["2601.00009"]


@pytest.mark.search_backend
def test_author_pages_api_search_and_follow(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from paperscope.web.app import create_app
    from tests.web_support import PASSWORD, sign_up

    settings = site_settings(tmp_path)
    orcid = author_ref("orcid", ORCID)
    assert orcid
    with open_store(settings.database_url) as store:
        store.upsert_papers([paper(1, ["Josiah Carberry", "Ada Lovelace"], [[orcid], []]),
                             paper(2, ["<b>J. Carberry</b>"], [[orcid]]), paper(3, ["Someone Else"], [])])
        author = store.authors.get_author(orcid)
        assert author is not None
        index_papers(SearchEngine(store, settings))
    with TestClient(create_app(settings)) as client:
        page = client.get(f"/authors/{author.id}")
        assert page.status_code == 200 and "Paper 1" in page.text and "Paper 2" in page.text
        assert "&lt;b&gt;J. Carberry&lt;/b&gt;" in page.text and "<b>J. Carberry" not in page.text
        assert f'href="/authors/{author.id}">Josiah Carberry</a>' in client.get("/papers/2601.00001").text
        data = client.get(f"/api/authors/{author.id}").json()
        assert data["author"]["ids"] == [orcid] and data["total"] == 2
        assert [a["id"] for a in client.get("/api/authors", params={"q": "carberry josiah"}).json()] == [author.id]
        assert f"/authors/{author.id}" in client.get("/authors", params={"q": "Carberry"}).text
        assert client.get("/authors/999999").status_code == 404
        assert client.get("/api/authors/999999").json()["error"]["code"] == "not_found"
        sign_up(client, "reader@example.org", PASSWORD)
        token = client.get(f"/authors/{author.id}").text.split('name="csrf_token" value="')[1].split('"')[0]
        client.post("/follows", data={"csrf_token": token, "kind": "author_id", "value": str(author.id),
                                      "next": f"/authors/{author.id}"})
        assert "Unfollow this author" in client.get(f"/authors/{author.id}").text
        for_you = client.get("/for-you").text
        assert f'<a href="/authors/{author.id}">Josiah Carberry</a>' in for_you  # the follow, listed
        assert "your followed author Josiah Carberry" in for_you and "Paper 3" not in for_you
