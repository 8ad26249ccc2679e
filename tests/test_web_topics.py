"""Topic pages, their API and feed, over a topic map saved through the store."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from fastapi.testclient import TestClient

from tests.web_support import client_fixture, csrf, sign_up, site_fixture  # noqa: F401 (registers them)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

ATOM = "{http://www.w3.org/2005/Atom}"


def test_topics_page_lists_topics_with_trends_emerging_and_borders(client: TestClient) -> None:
    html = client.get("/topics").text
    for label in ("cs.CV papers", "cs.LG papers", "cs.RO papers", "cs.HC papers"):
        assert label in html
    assert html.count("<polyline") == 4  # a trend line per topic, drawn without JavaScript
    row = html[html.index('id="topic-3"'):]
    assert "emerging" in row[:row.index("</tr>")]
    borders = html[html.index("Uncertain borders"):]
    assert "cs.CV papers" in borders and "cs.LG papers" in borders and "0.30" in borders
    assert 'src="/static/plotly/plotly.min.js"' in html
    assert client.get("/static/plotly/plotly.min.js").headers["content-type"].startswith("text/javascript")


def test_topic_page_lists_its_papers_neighbours_and_border_papers(client: TestClient) -> None:
    topics = {t["label"]: t for t in client.get("/api/topics").json()}
    vision = topics["cs.CV papers"]
    assert vision["size"] > 20 and vision["neighbours"] == [{"id": 2, "separability": 0.3, "ambiguous": True}]
    assert sum(vision["trend"]) == vision["size"] and len(vision["trend"]) == 12
    html = client.get(f"/topics/{vision['id']}").text
    assert html.count('class="card"') >= 20 and "uncertain border" in html
    learning = client.get("/topics/2").text
    assert "On the border" in learning  # cs.CV papers that are close to cs.LG too
    assert client.get("/topics/999").status_code == 404


def test_cards_show_their_topic(client: TestClient) -> None:
    detail = client.get("/api/topics/1", params={"limit": 1}).json()
    paper_id = detail["papers"]["items"][0]
    assert 'href="/topics/1"' in client.get(f"/papers/{paper_id}").text


def test_map_api_gives_every_point_with_title_and_topic(client: TestClient) -> None:
    data = client.get("/api/topics/map").json()
    assert len(data["points"]) >= 200 and {t["id"] for t in data["topics"]} == {1, 2, 3, 4}
    paper_id, topic_id, x, y, title, ambiguous = data["points"][0]
    assert client.get(f"/api/papers/{paper_id}").json()["title"] == title
    one = client.get("/api/topics/map", params={"topic": 1}).json()["points"]
    assert one and all(p[1] == 1 for p in one) and any(p[5] for p in one)


def test_topic_feed(client: TestClient) -> None:
    feed = ET.fromstring(client.get("/feeds/topics/1.xml").content)
    assert "cs.CV papers" in (feed.findtext(f"{ATOM}title") or "") and feed.findall(f"{ATOM}entry")
    assert client.get("/feeds/topics/999.xml").status_code == 404


def test_a_new_user_follows_a_topic_and_for_you_recommends_from_it(client: TestClient) -> None:
    robots = next(t for t in client.get("/api/topics").json() if t["label"] == "cs.RO papers")
    path = f"/topics/{robots['id']}"
    assert "Sign in to follow this topic" in client.get(path).text
    sign_up(client, "newcomer@example.org")
    assert client.get("/api/recommendations").json() == []  # nothing to go on yet
    html = client.get(path).text
    assert 'name="action" value="follow"' in html and "Follow this topic" in html
    form = {"kind": "topic", "value": str(robots["id"]), "action": "follow", "next": path}
    assert client.post("/follows", data=form, follow_redirects=False).status_code == 403  # no CSRF token
    done = client.post("/follows", data={**form, "csrf_token": csrf(client, path)}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == path
    assert "Unfollow this topic" in client.get(path).text

    picks = client.get("/api/recommendations", params={"limit": 10}).json()
    in_topic = [p for p in picks if p["reasons"]["topic"] == "cs.RO papers"]
    assert len(in_topic) >= min(8, robots["size"]) and "your followed topic" in in_topic[0]["why"]
    page = client.get("/for-you").text
    assert f'<a href="/topics/{robots["id"]}">cs.RO papers</a>' in page and "your followed topic" in page

    token = csrf(client, "/for-you")
    missing = client.post("/follows", data={**form, "value": "999", "csrf_token": token})
    assert missing.status_code == 404
    client.post("/follows", data={**form, "action": "unfollow", "csrf_token": token})
    assert "Follow this topic" in client.get(path).text and client.get("/api/recommendations").json() == []


def test_a_search_can_be_followed_from_the_search_page(client: TestClient) -> None:
    sign_up(client, "searcher@example.org")
    html = client.get("/search", params={"q": "robot"}).text
    assert "Follow this search" in html
    token = csrf(client, "/search?q=robot")
    client.post("/follows", data={"kind": "query", "value": "robot", "next": "/search?q=robot", "csrf_token": token})
    assert "Unfollow this search" in client.get("/search", params={"q": "robot"}).text
    picks = client.get("/api/recommendations", params={"limit": 5}).json()
    assert picks and "your saved search \u201crobot\u201d" in picks[0]["why"]
