"""Moderation on the web and in the JSON API: the admin's forms and /admin (404 to everyone else, CSRF on every
form), a hidden paper gone for everyone but admins (its page, the API, listings, search, similar papers, trending,
feeds, MCP), hiding and reporting comments, and a blocked user refused votes, submissions and public collections.

The web tests' real database (tests/web_support.py); its first user is the admin. Comments are written straight
into the `comments` table: posting them is the comment routes' work."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from mcp.server.mcpserver.exceptions import ToolError

from paperscope.auth import hash_password
from paperscope.config import Settings
from paperscope.store import open_store
from paperscope.web.routes.api import moderation as api_moderation
from paperscope.web.routes.pages import moderation as page_moderation
from tests.test_moderation import add_comment, comment_row
from tests.web_support import (  # noqa: F401 (fixtures)
    MATH_ID,
    PASSWORD,
    TEX_ID,
    api_token,
    client_fixture,
    csrf,
    sign_in,
    site_fixture,
)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

TRENDING_DAY = {"period": "day", "date": "2026-06-04"}
BLOCKED_MESSAGE = "Your account is blocked by a moderator"


@pytest.fixture(scope="module")
def people(site: Settings) -> dict[str, int]:
    """The site's users: the admin (the first user), and two readers."""
    with open_store(site.database_url) as store:
        return {name: store.accounts.create_user(f"{name}@example.org",
                                                 password_hash=hash_password(PASSWORD)).id
                for name in ("admin", "ann", "ben")}


def _client(client: TestClient, name: str | None) -> TestClient:
    """A client of its own, signed in as `name` (None: anonymous)."""
    other = TestClient(client.app)
    if name:
        sign_in(other, f"{name}@example.org")
    return other


@pytest.fixture
def admin(client: TestClient, people: dict[str, int]) -> TestClient:
    return _client(client, "admin")


@pytest.fixture
def ann(client: TestClient, people: dict[str, int]) -> TestClient:
    return _client(client, "ann")


@pytest.fixture
def ben(client: TestClient, people: dict[str, int]) -> TestClient:
    return _client(client, "ben")


@pytest.fixture
def comment(site: Settings, people: dict[str, int]) -> Iterator[int]:
    """A comment of ann's on the math paper."""
    with open_store(site.database_url) as store:
        yield add_comment(store, MATH_ID, people["ann"], "Ann's *view* of it.")


def _log(site: Settings) -> list[tuple[str | None, str, str]]:
    with open_store(site.database_url) as store:
        return [(e.actor, e.action, e.target_id) for e in store.moderation.log_entries(limit=1000)]


def _row(site: Settings, comment_id: int) -> dict[str, object]:
    with open_store(site.database_url) as store:
        return dict(comment_row(store, comment_id))


def _form(client: TestClient, path: str, page: str = "/me", **fields: str) -> object:
    return client.post(path, data={**fields, "csrf_token": csrf(client, page)}, follow_redirects=False)


# Who may moderate -----------------------------------------------------------------------------------------------

def _admin_routes(values: dict[str, str]) -> list[tuple[str, str]]:
    """(method, path) of every admin route: the moderation routers' routes but reporting a comment."""
    routes = [(prefix, route) for prefix, router in (("", page_moderation.router), ("/api", api_moderation.router))
              for route in router.routes if isinstance(route, APIRoute) and not route.path.endswith("/report")]
    return [(method, re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], prefix + route.path))
            for prefix, route in routes for method in route.methods]


def test_every_admin_route_answers_404_to_anyone_but_an_admin(site: Settings, client: TestClient, ann: TestClient,
                                                             people: dict[str, int], comment: int) -> None:
    with open_store(site.database_url) as store:
        store.moderation.report_comment(comment, people["ben"], "Check it.")
        [report] = store.moderation.open_reports()
    routes = _admin_routes({"comment_id": str(comment), "report_id": str(report.id), "user_id": str(people["ben"]),
                            "paper_id": MATH_ID})
    assert len(routes) >= 18  # the walk reaches them all (a guard against an empty table)
    token = api_token(ann)
    before = _log(site)
    anonymous = TestClient(client.app)
    for method, path in routes:
        for who, http in (("anonymous", anonymous), ("ann", ann)):
            headers = {"Authorization": f"Bearer {token}"} if who == "ann" and path.startswith("/api/") else {}
            data = {"csrf_token": csrf(http, "/signin")} if method == "POST" and not path.startswith("/api/") else None
            response = http.request(method, path, data=data, headers=headers, follow_redirects=False)
            assert response.status_code == 404, (who, method, path, response.status_code)
            assert f"There is nothing at {path}" in response.text, (who, path)
    assert _log(site) == before  # nothing happened
    assert _row(site, comment)["hidden_at"] is None
    with open_store(site.database_url) as store:
        assert not store.accounts.get_user(people["ben"]).blocked  # type: ignore[union-attr]
        assert store.moderation.hidden_paper_ids() == set()


def test_the_admin_page_shows_reports_hidden_papers_users_and_the_log(
        site: Settings, admin: TestClient, ann: TestClient, ben: TestClient, comment: int) -> None:
    assert _form(ben, f"/comments/{comment}/report", f"/papers/{MATH_ID}",
                 reason="<script>alert(1)</script> rude").status_code == 303
    page = admin.get("/admin")
    assert page.status_code == 200 and 'href="/admin"' in page.text  # the nav links the admin to it
    assert "&lt;script&gt;alert(1)&lt;/script&gt; rude" in page.text and "<script>alert(1)" not in page.text
    assert f'action="/comments/{comment}/hide"' in page.text and "reported by @ben" in page.text
    assert "ann@example.org" in page.text and "report-comment" in page.text
    assert 'href="/admin"' not in ann.get("/").text


def test_every_new_form_checks_its_csrf_token(site: Settings, admin: TestClient, ben: TestClient,
                                             people: dict[str, int], comment: int) -> None:
    before = _log(site)
    forms = [(admin, f"/comments/{comment}/hide"), (admin, f"/comments/{comment}/unhide"),
             (admin, f"/papers/{MATH_ID}/hide"), (admin, f"/papers/{MATH_ID}/unhide"),
             (admin, f"/admin/users/{people['ben']}/block"), (admin, f"/admin/users/{people['ben']}/unblock"),
             (admin, "/admin/reports/1/resolve"), (ben, f"/comments/{comment}/report")]
    for http, path in forms:
        for token in (None, "forged"):
            data = {"reason": "no token"} | ({"csrf_token": token} if token else {})
            response = http.post(path, data=data, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text, (path, token)
        # the API twins with a session need the CSRF header as well
    assert admin.post(f"/api/admin/papers/{MATH_ID}/hide").status_code == 403
    assert _log(site) == before and _row(site, comment)["hidden_at"] is None


# Hidden papers ----------------------------------------------------------------------------------------------------

def _ids(items: list[dict[str, object]]) -> set[str]:
    return {item["paper"]["id"] if "paper" in item else item["id"] for item in items}  # type: ignore[index]


def test_a_hidden_paper_is_gone_for_everyone_but_admins(site: Settings, client: TestClient, admin: TestClient,
                                                       ann: TestClient) -> None:
    anonymous = TestClient(client.app)
    top = anonymous.get("/api/trending", params=TRENDING_DAY).json()["items"][0]["paper"]
    hidden, title = top["id"], top["title"]
    neighbour = anonymous.get(f"/api/papers/{hidden}/similar", params={"limit": 1}).json()["items"][0]["paper"]["id"]
    day = {"from": top["published"], "to": top["published"], "limit": 200}
    listing = anonymous.get("/api/papers", params=day).json()
    places = {  # where the paper is before: each must lose it
        "trending": lambda: _ids(anonymous.get("/api/trending", params=TRENDING_DAY).json()["items"]),
        "search": lambda: _ids(anonymous.get("/api/search", params={"q": title}).json()["items"]),
        "similar": lambda: _ids(anonymous.get(f"/api/papers/{neighbour}/similar", params={"limit": 50}
                                              ).json()["items"]),
        "listing": lambda: _ids(anonymous.get("/api/papers", params=day).json()["items"]),
        "trending page": lambda: {hidden} if f'href="/papers/{hidden}"' in anonymous.get("/", params=TRENDING_DAY).text
        else set(),
        "feed": lambda: {hidden} if hidden in anonymous.get("/feeds/trending.xml").text else set(),
        "topic map": lambda: {point[0] for point in anonymous.get("/api/topics/map").json()["points"]},
    }
    before = {name: hidden in found() for name, found in places.items()}
    assert all(v for k, v in before.items() if k != "feed"), before

    search = client.app.state.services.search  # type: ignore[attr-defined]
    assert [p.id for _, p in search.search(title, limit=1)] == [hidden]
    ranked = [p.id for _, p in search.similar(neighbour, limit=50)]
    deep = ranked.index(hidden) + 1

    def page_sizes() -> tuple[int, int]:  # a page of search results and of similar papers stays full
        return len(search.search(title, limit=1)), len(search.similar(neighbour, limit=deep))

    assert page_sizes() == (1, deep)
    hid = _form(admin, f"/papers/{hidden}/hide", f"/papers/{hidden}", reason="spam")
    assert hid.status_code == 303 and hid.headers["location"] == f"/papers/{hidden}"
    try:
        for name, found in places.items():
            assert hidden not in found(), name
        assert page_sizes() == (1, deep)
        assert anonymous.get("/api/papers", params=day).json()["total"] == listing["total"] - 1
        for who, http in (("anonymous", anonymous), ("ann", ann)):
            assert http.get(f"/papers/{hidden}").status_code == 404, who
            assert http.get(f"/api/papers/{hidden}").status_code == 404, who
            assert http.get(f"/papers/{hidden}/bibtex").status_code == 404, who
        page = admin.get(f"/papers/{hidden}")
        assert page.status_code == 200 and "Hidden by a moderator (@admin)" in page.text and ": spam." in page.text
        assert f'action="/papers/{hidden}/unhide"' in page.text
        assert admin.get(f"/api/papers/{hidden}").status_code == 200  # the session's admin
        from paperscope.mcp_server import McpTools

        with pytest.raises(ToolError, match="no paper"):
            McpTools(client.app.state.services).paper(hidden)  # type: ignore[attr-defined]
        assert hidden in admin.get("/admin").text
    finally:
        shown = _form(admin, f"/papers/{hidden}/unhide", f"/papers/{hidden}")
    assert shown.status_code == 303 and anonymous.get(f"/papers/{hidden}").status_code == 200
    assert all(hidden in found() for name, found in places.items() if before[name])
    assert [(a, act) for a, act, target in _log(site) if target == hidden][:2] == [
        ("admin", "unhide-paper"), ("admin", "hide-paper")]


def test_a_non_admin_sees_no_moderation_form_on_a_paper(admin: TestClient, ann: TestClient) -> None:
    assert f'action="/papers/{TEX_ID}/hide"' in admin.get(f"/papers/{TEX_ID}").text
    assert "/hide" not in ann.get(f"/papers/{TEX_ID}").text


def test_the_api_hides_and_shows_a_paper_for_an_admin_token(site: Settings, client: TestClient,
                                                            admin: TestClient) -> None:
    auth = {"Authorization": f"Bearer {api_token(admin)}"}
    script = TestClient(client.app)
    hid = script.post(f"/api/admin/papers/{TEX_ID}/hide", json={"reason": "duplicate"}, headers=auth)
    try:
        assert hid.status_code == 200 and hid.json() == {"action": "hide-paper", "target_kind": "paper",
                                                         "target_id": TEX_ID, "changed": True}
        assert script.post(f"/api/admin/papers/{TEX_ID}/hide", headers=auth).json()["changed"] is False
        assert [h["paper_id"] for h in script.get("/api/admin/papers", headers=auth).json()] == [TEX_ID]
        assert script.get(f"/api/papers/{TEX_ID}", headers=auth).status_code == 200
        assert script.get(f"/api/papers/{TEX_ID}").status_code == 404
        assert script.get("/api/admin/log", headers=auth).json()[0]["action"] == "hide-paper"
    finally:
        shown = script.post(f"/api/admin/papers/{TEX_ID}/unhide", headers=auth)
    assert shown.json()["changed"] is True and script.get(f"/api/papers/{TEX_ID}").status_code == 200


# Comments ---------------------------------------------------------------------------------------------------------

def test_an_admin_hides_and_shows_a_comment(site: Settings, admin: TestClient, ben: TestClient, comment: int) -> None:
    hid = _form(admin, f"/comments/{comment}/hide", f"/papers/{MATH_ID}", reason="off-topic")
    assert hid.status_code == 303 and hid.headers["location"] == f"/papers/{MATH_ID}#comment-{comment}"
    row = _row(site, comment)
    assert row["hidden_at"] is not None and row["body"] == "Ann's *view* of it."
    assert ("admin", "hide-comment", str(comment)) in _log(site)
    # A hidden comment cannot be reported by a reader: it is not there for them.
    assert _form(ben, f"/comments/{comment}/report", f"/papers/{MATH_ID}", reason="x").status_code == 404
    assert _form(admin, f"/comments/{comment}/unhide", f"/papers/{MATH_ID}").status_code == 303
    assert _row(site, comment)["hidden_at"] is None
    auth = {"Authorization": f"Bearer {api_token(admin)}"}
    script = TestClient(admin.app)
    assert script.post(f"/api/admin/comments/{comment}/hide", headers=auth).json()["changed"] is True
    assert script.post(f"/api/admin/comments/{comment}/hide", headers=auth).json()["changed"] is False
    assert script.post(f"/api/admin/comments/{comment}/unhide", headers=auth).json()["changed"] is True
    assert script.post("/api/admin/comments/999999/hide", headers=auth).status_code == 404


def test_a_reader_reports_a_comment_once_and_an_admin_resolves_it(site: Settings, admin: TestClient, ann: TestClient,
                                                                 ben: TestClient, comment: int) -> None:
    reported = _form(ben, f"/comments/{comment}/report", f"/papers/{MATH_ID}", reason="Off-topic advertising")
    assert reported.status_code == 303 and reported.headers["location"] == f"/papers/{MATH_ID}#comment-{comment}"
    assert "Thank you: the admins will look at this comment." in ben.get(f"/papers/{MATH_ID}").text
    own = _form(ann, f"/comments/{comment}/report", f"/papers/{MATH_ID}", reason="Mine")
    assert own.status_code == 400 and "your own comment" in own.text
    empty = _form(ben, f"/comments/{comment}/report", f"/papers/{MATH_ID}", reason=" ")
    assert empty.status_code == 422 and "The reason for the report (reason) must not be empty" in empty.text
    auth = {"Authorization": f"Bearer {api_token(ben)}"}
    again = TestClient(ben.app).post(f"/api/comments/{comment}/report", json={"reason": "Still bad"}, headers=auth)
    assert again.status_code == 201 and again.json() == {"comment_id": comment, "new": False}
    admin_auth = {"Authorization": f"Bearer {api_token(admin)}"}
    reports = TestClient(admin.app).get("/api/admin/reports", headers=admin_auth).json()
    [report] = [r for r in reports if r["comment_id"] == comment]
    assert (report["reporter"], report["reason"], report["comment_author"]) == ("ben", "Off-topic advertising", "ann")
    assert _form(admin, f"/admin/reports/{report['id']}/resolve", "/admin").status_code == 303
    assert f'id="report-{report["id"]}"' not in admin.get("/admin").text
    assert _row(site, comment)["hidden_at"] is None  # resolved: the comment stays


# Blocked users ----------------------------------------------------------------------------------------------------

def test_a_blocked_user_reads_on_but_cannot_vote_submit_or_publish(site: Settings, admin: TestClient,
                                                                  ben: TestClient, people: dict[str, int]) -> None:
    auth = {"Authorization": f"Bearer {api_token(ben)}"}
    script = TestClient(ben.app)
    blocked = _form(admin, f"/admin/users/{people['ben']}/block", "/admin", reason="vote ring")
    assert blocked.status_code == 303 and blocked.headers["location"] == "/admin#users"
    try:
        vote = _form(ben, f"/papers/{MATH_ID}/vote", f"/papers/{MATH_ID}", up="1")
        assert vote.status_code == 403 and BLOCKED_MESSAGE in vote.text and "cannot vote" in vote.text
        api_vote = script.put(f"/api/papers/{MATH_ID}/vote", json={"up": True}, headers=auth)
        assert api_vote.status_code == 403 and api_vote.json()["error"]["code"] == "forbidden"
        assert BLOCKED_MESSAGE in api_vote.json()["error"]["message"]
        submit = _form(ben, "/submit", "/submit", arxiv_id="2503.11731")
        assert submit.status_code == 403 and "cannot submit papers" in submit.text
        assert script.post("/api/submissions", json={"arxiv_id": "2503.11731"}, headers=auth).status_code == 403
        public = _form(ben, "/collections", name="Public picks", public="1")
        assert public.status_code == 403 and "cannot publish a collection" in public.text
        assert script.post("/api/collections", json={"name": "Public", "public": True}, headers=auth
                           ).status_code == 403
        assert _form(ben, "/collections", name="Private picks").status_code == 303  # private: theirs
        assert _form(ben, f"/papers/{MATH_ID}/note", f"/papers/{MATH_ID}", body="Still mine").status_code == 303
        assert ben.get(f"/papers/{MATH_ID}").status_code == 200 and ben.get("/").status_code == 200
        assert f'action="/admin/users/{people["ben"]}/unblock"' in admin.get("/admin").text
    finally:
        assert _form(admin, f"/admin/users/{people['ben']}/unblock", "/admin").status_code == 303
    assert _form(ben, f"/papers/{MATH_ID}/vote", f"/papers/{MATH_ID}", up="0").status_code == 303
    assert [act for _, act, target in _log(site) if target == str(people["ben"])][:2] == ["unblock-user",
                                                                                          "block-user"]


def test_an_admin_cannot_be_blocked_and_unknown_users_are_404(admin: TestClient, people: dict[str, int]) -> None:
    refused = _form(admin, f"/admin/users/{people['admin']}/block", "/admin")
    assert refused.status_code == 400 and "admins cannot be blocked" in refused.text
    assert _form(admin, "/admin/users/999999/block", "/admin").status_code == 404
    auth = {"Authorization": f"Bearer {api_token(admin)}"}
    users = TestClient(admin.app).get("/api/admin/users", headers=auth).json()
    assert [(u["handle"], u["is_admin"]) for u in users][:1] == [("admin", True)]
    assert TestClient(admin.app).get("/api/admin/users", params={"blocked": "true"}, headers=auth).json() == []


def test_a_paper_hidden_after_the_recommender_read_its_corpus_is_never_recommended(
        site: Settings, client: TestClient, admin: TestClient, ben: TestClient, people: dict[str, int]) -> None:
    """Found: the recommender's corpus, read before the paper was hidden, still held it, and building the answer
    looked its paper up among the visible ones (a KeyError, answered 500)."""
    with open_store(site.database_url) as store:
        store.accounts.set_library_state(people["ben"], [MATH_ID, TEX_ID], "saved")
    script = TestClient(client.app)
    auth = {"Authorization": f"Bearer {api_token(ben)}"}
    first = script.get("/api/recommendations", params={"limit": 5}, headers=auth)
    assert first.status_code == 200 and first.json(), first.text
    top = first.json()[0]["id"]
    assert _form(admin, f"/papers/{top}/hide", f"/papers/{top}").status_code == 303
    try:
        again = script.get("/api/recommendations", params={"limit": 5}, headers=auth)
        assert again.status_code == 200, again.text
        assert top not in [r["id"] for r in again.json()] and len(again.json()) == 5
    finally:
        assert _form(admin, f"/papers/{top}/unhide", f"/papers/{top}").status_code == 303
    assert top in [r["id"] for r in script.get("/api/recommendations", params={"limit": 5}, headers=auth).json()]
