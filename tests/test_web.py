"""The web app and JSON API through an HTTP client, on a real SQLite store of real papers."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.store import open_store
from tests.web_support import (  # noqa: F401 (registers the fixtures)
    MATH_ID,
    PASSWORD,
    TEX_ID,
    api_token,
    client_fixture,
    csrf,
    sign_up,
    site_fixture,
)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

HF_PAPER = "2606.06113"  # in the recorded HF daily papers, 13 upvotes, published 2026-06-04
ATOM = "{http://www.w3.org/2005/Atom}"


def test_every_page_and_api_route_answers(client: TestClient) -> None:
    for path in ["/", "/?period=week", "/?period=month&date=2026-06-04", "/search?q=robot+manipulation",
                 f"/papers/{HF_PAPER}", f"/papers/{HF_PAPER}/bibtex", "/signin", "/signup", "/submit",
                 "/api/papers", f"/api/papers/{HF_PAPER}", f"/api/papers/{HF_PAPER}/similar", "/api/search?q=robot",
                 "/api/trending?period=week", "/api/topics", "/api/status", "/feeds/trending.xml",
                 "/feeds/search.xml?q=robot", "/search/bibtex?q=robot", "/openapi.json", "/docs", "/topics",
                 "/topics/1", "/api/topics/1", "/api/topics/map", "/feeds/topics/1.xml"]:
        assert client.get(path).status_code == 200, path


def test_trending_ranks_by_upvotes_within_the_day(client: TestClient) -> None:
    data = client.get("/api/trending", params={"period": "day", "date": "2026-06-04"}).json()
    upvotes = [item["paper"]["upvotes"] for item in data["items"]]
    assert data["total"] == len(upvotes) > 1 and upvotes == sorted(upvotes, reverse=True)
    assert all(item["paper"]["published"] == "2026-06-04" for item in data["items"])
    assert data["previous"] == "2026-06-03" and data["first"] == data["last"] == "2026-06-04"


def test_trending_page_navigates_between_windows(client: TestClient) -> None:
    html = client.get("/", params={"period": "week", "date": "2026-06-04"}).text.replace("&amp;", "&")
    assert 'href="/?period=week&date=2026-05-25"' in html  # the Monday of the week before
    assert 'href="/?period=week&date=2026-06-08"' in html
    assert f'href="/papers/{HF_PAPER}"' in html
    assert client.get("/", params={"period": "year"}).status_code == 400
    assert client.get("/", params={"date": "yesterday"}).status_code == 400


def test_cards_show_title_authors_excerpt_upvotes_and_links(client: TestClient) -> None:
    html = client.get("/", params={"period": "day", "date": "2026-06-04"}).text
    card = html[html.index(f'data-paper-id="{HF_PAPER}"'):]
    card = card[:card.index("</article>")]
    assert "Structured Defect Grounding" in card and "Huaisong Zhang" in card
    assert 'class="count">13<' in card
    assert "https://arxiv.org/pdf/2606.06113" in card and "https://github.com/nianbai006/SDG" in card
    assert 'class="excerpt"' in card


def test_search_highlights_matches_and_filters(client: TestClient) -> None:
    html = client.get("/search", params={"q": "robot"}).text
    assert "<mark>robot" in html.lower()
    filtered = client.get("/api/search", params={"q": "robot", "category": "cs.RO", "limit": 50}).json()
    assert filtered["items"] and all("cs.RO" in i["paper"]["categories"] for i in filtered["items"])
    dated = client.get("/api/search", params={"q": "model", "from": "2026-06-04", "to": "2026-06-04"}).json()
    assert dated["items"] and all(i["paper"]["published"] == "2026-06-04" for i in dated["items"])
    authored = client.get("/api/search", params={"q": "defect", "author": "Huaisong"}).json()
    assert [i["paper"]["id"] for i in authored["items"]] == [HF_PAPER]
    assert client.get("/search", params={"q": "x", "from": "June"}).status_code == 400


def test_paper_page_renders_math_as_mathml(client: TestClient) -> None:
    html = client.get(f"/papers/{MATH_ID}").text
    assert "<math" in html and "<msqrt>" in html
    assert r"\sum_" not in html.split("<annotation")[0]  # rendered, the TeX only kept as MathML annotation


def test_tex_markup_shows_as_html_on_pages_and_as_plain_text_in_feeds(client: TestClient) -> None:
    page = client.get(f"/papers/{TEX_ID}").text
    assert "<title>Sparse Spectre cuts \u2013 fast and exact · paperscope</title>" in page
    assert "<strong>graph partitioning</strong> up to 20% faster." in page  # the citation is dropped
    assert '<a href="https://example.org/spectre" rel="nofollow noopener">the repository</a>' in page
    assert "javascript:" not in page and "no link." in page and "\\textbf" not in page
    found = client.get("/search", params={"q": "spectre partitioning"}).text
    card = found[found.index(f'data-paper-id="{TEX_ID}"'):]
    card = card[:card.index("</article>")]
    assert "<strong>graph <mark>partitioning</mark></strong> up to 20% faster" in card  # the excerpt, marked
    atom = ET.fromstring(client.get("/feeds/search.xml", params={"q": "spectre partitioning"}).content)
    entry = next(e for e in atom.iter(f"{ATOM}entry") if (e.findtext(f"{ATOM}id") or "").endswith(TEX_ID))
    assert entry.findtext(f"{ATOM}title") == "Sparse Spectre cuts \u2013 fast and exact"
    assert entry.findtext(f"{ATOM}summary") == (
        "Spectre makes graph partitioning up to 20% faster. Code: the repository (https://example.org/spectre); "
        "no link.")
    stored = client.get(f"/api/papers/{TEX_ID}").json()["abstract"]
    assert stored.startswith(r"Spectre makes \textbf{")  # the API gives the data as stored


def test_paper_page_has_similar_papers_and_bibtex(client: TestClient) -> None:
    html = client.get(f"/papers/{HF_PAPER}").text
    similar = html[html.index('class="similar"'):]
    assert similar.count('class="card"') == 8
    assert "@misc{zhang2026where," in html
    bib = client.get(f"/papers/{HF_PAPER}/bibtex")
    assert bib.headers["content-type"].startswith("application/x-bibtex") and "eprint = {2606.06113}" in bib.text
    assert client.get("/papers/2606.06113v2").url.path == f"/papers/{HF_PAPER}"  # versioned ids redirect
    assert client.get("/papers/0000.00000").status_code == 404


def test_api_papers_are_paginated(client: TestClient) -> None:
    first = client.get("/api/papers", params={"limit": 5}).json()
    second = client.get("/api/papers", params={"limit": 5, "offset": first["next_offset"]}).json()
    assert first["total"] == second["total"] >= 200 and first["next_offset"] == 5
    assert not {p["id"] for p in first["items"]} & {p["id"] for p in second["items"]}
    dates = [p["published"] for p in first["items"]]
    assert dates == sorted(dates, reverse=True)
    assert client.get("/api/papers", params={"limit": 0}).status_code == 422


def test_api_listing_says_when_more_papers_match_than_it_counted(site: Settings, client: TestClient) -> None:
    """With PAPERSCOPE_LISTING_COUNT_LIMIT below the number of papers, `total` is the limit (or the page's end,
    deeper) and `total_is_lower_bound` says more match; the pages and their next_offset are the same."""
    from paperscope.web import create_app

    everything = client.get("/api/papers", params={"limit": 1}).json()
    stored = everything["total"]
    assert stored > 120 and everything["total_is_lower_bound"] is False
    with TestClient(create_app(site.model_copy(update={"listing_count_limit": 50}))) as capped:
        pages = [(0, 50, True, 20), (60, 80, True, 80), (stored - 30, stored - 10, True, stored - 10),
                 (stored - 20, stored, False, None), (stored - 10, stored, False, None)]
        for offset, total, more, following in pages:
            params = {"limit": 20, "offset": offset}
            page = capped.get("/api/papers", params=params).json()
            exact = client.get("/api/papers", params=params).json()
            counted = (page["total"], page["total_is_lower_bound"], page["next_offset"])
            assert counted == (total, more, following), offset
            assert page["items"] == exact["items"] and page["next_offset"] == exact["next_offset"]
        one_day = capped.get("/api/papers", params={"from": "2026-06-04", "to": "2026-06-04"}).json()
        assert one_day["total_is_lower_bound"] is False and 0 < one_day["total"] < 50  # few matches: exact
        schemas = capped.get("/openapi.json").json()["components"]["schemas"]
        described = [s["properties"]["total_is_lower_bound"]["description"] for s in schemas.values()
                     if "total_is_lower_bound" in s.get("properties", {})]
        assert described and all("more results than `total` match" in text for text in described)


def test_api_errors_share_one_shape(client: TestClient) -> None:
    for path, status in [("/api/papers/0000.00000", 404), ("/api/papers?limit=abc", 422), ("/api/search", 422),
                         ("/api/trending?period=year", 400), ("/api/collections", 401), ("/api/nowhere", 404)]:
        response = client.get(path)
        body = response.json()
        assert response.status_code == status, path
        assert set(body) == {"error"} and body["error"]["status"] == status and body["error"]["message"], path


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path in ["/api/papers", "/api/papers/{paper_id}", "/api/papers/{paper_id}/similar", "/api/search",
                 "/api/trending", "/api/topics", "/api/papers/{paper_id}/vote", "/api/collections",
                 "/api/submissions"]:
        assert path in spec["paths"], path
    assert "PaperOut" in spec["components"]["schemas"] and "ErrorBody" in spec["components"]["schemas"]
    docs = client.get("/docs").text
    assert "/static/docs/swagger-ui-bundle.js" in docs and "cdn" not in docs.lower()


def test_api_token_votes_and_collections(client: TestClient) -> None:
    sign_up(client, "script-user@example.org")
    token = api_token(client)
    script = TestClient(client.app)  # no cookies: the token alone
    headers = {"Authorization": f"Bearer {token}"}
    before = script.get(f"/api/papers/{HF_PAPER}").json()["upvotes"]
    voted = script.put(f"/api/papers/{HF_PAPER}/vote", json={"up": True}, headers=headers).json()
    assert voted == {"paper_id": HF_PAPER, "voted": True, "upvotes": before + 1}
    assert script.get("/api/votes", headers=headers).json() == [HF_PAPER]
    created = script.post("/api/collections", json={"name": "Grounding"}, headers=headers)
    assert created.status_code == 201
    cid = created.json()["id"]
    added = script.post(f"/api/collections/{cid}/papers", json={"paper_ids": [HF_PAPER, MATH_ID]}, headers=headers)
    assert sorted(added.json()["paper_ids"]) == sorted([HF_PAPER, MATH_ID])
    assert [c["name"] for c in script.get("/api/collections", headers=headers).json()] == ["Grounding"]
    bib = client.get(f"/collections/{cid}/bibtex").text
    assert bib.count("@misc{") == 2
    assert script.delete(f"/api/collections/{cid}", headers=headers).status_code == 204
    assert script.put(f"/api/papers/{HF_PAPER}/vote", json={"up": True},
                      headers={"Authorization": "Bearer ps_wrong"}).status_code == 401


def test_html_vote_answers_json_to_scripts_and_redirects_forms(client: TestClient) -> None:
    sign_up(client, "voter@example.org")
    token = csrf(client, f"/papers/{MATH_ID}")
    answer = client.post(f"/papers/{MATH_ID}/vote", data={"up": "1", "csrf_token": token},
                         headers={"Accept": "application/json"})
    assert answer.json() == {"paper_id": MATH_ID, "voted": True, "upvotes": 1}
    page = client.post(f"/papers/{MATH_ID}/vote", data={"up": "0", "csrf_token": token}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == f"/papers/{MATH_ID}"
    assert client.get(f"/api/papers/{MATH_ID}").json()["upvotes"] == 0


def test_library_tags_not_interested_and_user_page(client: TestClient) -> None:
    sign_up(client, "reader@example.org")
    token = csrf(client, "/me")
    client.post(f"/papers/{HF_PAPER}/tags", data={"tag": "to-read", "csrf_token": token})
    client.post(f"/papers/{MATH_ID}/library", data={"action": "hide", "csrf_token": token})
    me = client.get("/me").text
    assert "to-read" in me and f'data-paper-id="{HF_PAPER}"' in me  # a tag saves the paper to the library
    assert 'href="/for-you?tag=to-read"' in me  # each tag links to the recommendations from its papers
    feed = re.search(r'<code id="private-feed">http://localhost:8000(/feeds/users/[^<]+\.xml)</code>', me)
    assert feed and client.get(feed.group(1)).status_code == 200  # the digest stage's feed, included
    assert client.get("/api/recommendations").status_code == 200
    hidden_day = client.get("/api/trending", params={"date": dt.date.today().isoformat(), "limit": 200}).json()
    assert MATH_ID in {i["paper"]["id"] for i in hidden_day["items"]}  # the API is not personal
    for page_number in (1, 2, 3, 4, 5, 6, 7):
        listing = client.get("/", params={"date": dt.date.today().isoformat(), "page": page_number}).text
        assert f'data-paper-id="{MATH_ID}"' not in listing


def test_feeds_are_valid_atom_and_rss(client: TestClient) -> None:
    atom = ET.fromstring(client.get("/feeds/trending.xml", params={"period": "month"}).content)
    entries = atom.findall(f"{ATOM}entry")
    assert atom.tag == f"{ATOM}feed" and entries
    assert entries[0].find(f"{ATOM}link").get("href").startswith("http://localhost:8000/papers/")  # type: ignore[union-attr]
    rss = ET.fromstring(client.get("/feeds/search.xml", params={"q": "robot", "format": "rss"}).content)
    titles = [item.findtext("title") or "" for item in rss.iter("item")]
    assert rss.tag == "rss" and titles and any("robot" in t.lower() for t in titles)


def test_search_result_exports_as_bibtex(client: TestClient) -> None:
    bib = client.get("/search/bibtex", params={"q": "robot", "limit": 5}).text
    keys = re.findall(r"@\w+\{([^,]+),", bib)
    assert len(keys) == 5 and len(set(keys)) == 5


def test_empty_database_page_says_how_to_add_papers(tmp_path: object) -> None:
    from pathlib import Path

    from paperscope.web import create_app

    settings = Settings(database_url=f"sqlite:///{Path(str(tmp_path)) / 'empty.db'}", embedding_model="hashing",
                        background_jobs=False)
    with TestClient(create_app(settings)) as empty:
        html = empty.get("/").text
    assert "No papers yet" in html and "paperscope ingest" in html
    with open_store(settings.database_url) as store:
        assert store.count_papers() == 0


def test_for_you_page_recommends_with_reasons_and_skips_the_library(client: TestClient) -> None:
    assert client.get("/for-you", follow_redirects=False).status_code in (303, 401)  # signed-in users only
    sign_up(client, "foryou@example.org")
    token = csrf(client, "/me")
    client.post(f"/papers/{HF_PAPER}/tags", data={"tag": "agents", "csrf_token": token})
    page = client.get("/for-you")
    assert page.status_code == 200 and "<h1>For you</h1>" in page.text and 'href="/for-you"' in page.text
    picked = re.findall(r'<article class="card" data-paper-id="([^"]+)"', page.text)
    assert picked and HF_PAPER not in picked
    assert page.text.count('<p class="why">Why: ') == len(picked)
    api = [item["id"] for item in client.get("/api/recommendations", params={"limit": 30}).json()]
    assert picked == api  # the page and the API rank alike

    assert re.search(r'<nav class="periods" aria-label="Tags" id="tag-picker">.*href="/for-you\?tag=agents"',
                     page.text, re.DOTALL)
    by_tag = client.get("/for-you", params={"tag": "agents"})
    assert by_tag.status_code == 200 and "tagged \u201cagents\u201d" in by_tag.text
    picked_by_tag = re.findall(r'<article class="card" data-paper-id="([^"]+)"', by_tag.text)
    api_by_tag = client.get("/api/recommendations", params={"limit": 30, "tag": "agents"}).json()
    assert picked_by_tag == [item["id"] for item in api_by_tag] and HF_PAPER not in picked_by_tag
    assert all("among your papers tagged \u201cagents\u201d" in item["why"] for item in api_by_tag
               if item["reasons"]["closest"])
    unknown = client.get("/api/recommendations", params={"tag": "<b>nope</b>"})
    assert unknown.status_code == 404 and "\u201cagents\u201d" in unknown.json()["error"]["message"]
    page_unknown = client.get("/for-you", params={"tag": "<b>nope</b>"})
    assert page_unknown.status_code == 404 and "<b>nope</b>" not in page_unknown.text  # escaped

    paper_page = client.get(f"/papers/{HF_PAPER}").text
    assert re.search(r'<a class="tag" href="/for-you\?tag=agents"[^>]*>agents</a><form method="post" '
                     r'action="/papers/[^"]+/untag"', paper_page)  # the tag's recommendations, and a remove button
    untag = {"tag": "agents", "csrf_token": csrf(client, f"/papers/{HF_PAPER}")}
    assert client.post(f"/papers/{HF_PAPER}/untag", data=untag, follow_redirects=False).status_code == 303
    assert client.get("/for-you", params={"tag": "agents"}).status_code == 404  # the tag is gone ...
    assert f'data-paper-id="{HF_PAPER}"' in client.get("/me").text  # ... and the paper is still saved


def test_a_vote_through_another_process_shows_on_the_voters_next_page(site: Settings, client: TestClient) -> None:
    """Two apps over one store stand for two web processes, each with its own cached trending ranking."""
    from paperscope.web import create_app

    day = "/?period=day&date=2026-06-04"
    count = re.compile(rf'action="/papers/{HF_PAPER}/vote".*?<span class="count">(\d+)</span>', re.DOTALL)
    sign_up(client, "two-processes@example.org")
    token = api_token(client)
    with TestClient(create_app(site)) as other:
        form = {"email": "two-processes@example.org", "password": PASSWORD, "csrf_token": csrf(other)}
        assert other.post("/signin", data=form, follow_redirects=False).status_code == 303
        before = int(count.search(other.get(day).text).group(1))  # type: ignore[union-attr]
        voted = client.put(f"/api/papers/{HF_PAPER}/vote", json={"up": True},
                           headers={"Authorization": f"Bearer {token}"})
        assert voted.json()["upvotes"] == before + 1
        assert int(count.search(other.get(day).text).group(1)) == before + 1  # type: ignore[union-attr]
