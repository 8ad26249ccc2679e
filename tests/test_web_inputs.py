"""Input the web app must refuse cleanly: days and ids out of range (400/404, never 500) and text beyond its
field's limit or holding control characters, through the JSON API, the HTML forms and the store alike."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from paperscope import limits
from paperscope.errors import InputError
from paperscope.store import MAX_RECORD_ID, open_store
from paperscope.web.routes import ROUTERS, digest_routers
from tests.conftest import fresh_database
from tests.web_support import (  # noqa: F401 (registers the fixtures)
    HOSTILE_ID,
    api_token,
    client_fixture,
    csrf,
    sign_up,
    site_fixture,
)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

BEYOND_ANY_ID = 2**63  # past SQLite's 64-bit integers: the database driver itself cannot take it


def _is_api(path: str) -> bool:
    return path.startswith("/api/")


def _assert_clean_error(response: object, path: str, status: int, words: str) -> None:
    """A `status` answer: the API's JSON error under /api/, an HTML error page elsewhere, naming `words`."""
    assert response.status_code == status, (path, response.status_code, response.text[:300])  # type: ignore[attr-defined]
    if _is_api(path):
        error = response.json()["error"]  # type: ignore[attr-defined]
        assert error["status"] == status and words in error["message"], error
    else:
        assert response.headers["content-type"].startswith("text/html"), path  # type: ignore[attr-defined]
        assert words in response.text, response.text[:500]  # type: ignore[attr-defined]


@pytest.mark.parametrize("path", ["/?date=9999-12-31", "/?date=0001-01-01", "/api/trending?date=9999-12-31",
                                  "/?period=week&date=0001-01-03", "/?period=month&date=9999-12-31",
                                  "/api/trending?period=month&date=0001-01-01"])
def test_days_beyond_the_calendar_answer_400_naming_the_range(client: TestClient, path: str) -> None:
    _assert_clean_error(client.get(path), path, 400, "date must be a day from 1000-01-01 to 2999-12-31")


def test_days_at_the_ends_of_the_range_still_answer(client: TestClient) -> None:
    for period in ("day", "week", "month"):
        for day in ("1000-01-01", "2999-12-31"):
            assert client.get("/", params={"period": period, "date": day}).status_code == 200, (period, day)
            assert client.get("/api/trending", params={"period": period, "date": day}).status_code == 200


@pytest.mark.parametrize("path", [f"/collections/{BEYOND_ANY_ID}", f"/topics/{BEYOND_ANY_ID}",
                                  f"/api/collections/{BEYOND_ANY_ID}", f"/feeds/topics/{BEYOND_ANY_ID}.xml",
                                  f"/api/topics/{BEYOND_ANY_ID}", f"/collections/{BEYOND_ANY_ID}/bibtex",
                                  f"/collections/-{BEYOND_ANY_ID}", f"/topics/{MAX_RECORD_ID + 1}"])
def test_ids_beyond_any_record_answer_404(client: TestClient, path: str) -> None:
    _assert_clean_error(client.get(path), path, 404, "There is nothing at")


def _int_path_parameters(route: APIRoute) -> list[str]:
    return [p.name for p in route.dependant.path_params if p.field_info.annotation is int]


def test_every_integer_path_parameter_is_bounded_and_answers_404_beyond(client: TestClient) -> None:
    """Walk every route of the app: each integer in a path documents its bounds and answers 404 outside them,
    signed in and with a valid CSRF token, so that nothing but the id decides the answer."""
    sign_up(client, "walker@example.org")
    token = api_token(client)
    form_token = csrf(client, "/me")
    schema = client.get("/openapi.json").json()
    checked: list[str] = []
    for prefix, router in ROUTERS + digest_routers():  # every route the app mounts
        for route in router.routes:
            if isinstance(route, APIRoute) and (names := _int_path_parameters(route)):
                checked += _probe_ids(client, schema, prefix, route, names, token, form_token)
    # the routes the probe named, among the others
    assert {"GET /collections/{collection_id}", "GET /topics/{topic_id}", "GET /api/collections/{collection_id}",
            "GET /feeds/topics/{topic_id}.xml", "POST /me/tokens/{token_id}/revoke"} <= set(checked), checked


def _probe_ids(client: TestClient, schema: dict[str, Any], prefix: str, route: APIRoute, names: list[str],
               token: str, form_token: str) -> list[str]:
    checked = []
    template = prefix + route.path_format
    for method in sorted(route.methods):
        documented = schema["paths"][re.sub(r":path}", "}", template)][method.lower()]
        for parameter in documented["parameters"]:
            if parameter["in"] == "path" and parameter["name"] in names:
                assert parameter["schema"]["maximum"] == MAX_RECORD_ID, (route.path, parameter)
        for bad in (BEYOND_ANY_ID, -1, MAX_RECORD_ID + 1):
            path = template
            for name in re.findall(r"{(\w+)(?::\w+)?}", template):
                value = bad if name in names else HOSTILE_ID
                path = re.sub(r"{" + name + r"(:\w+)?}", str(value), path)
            response = client.request(method, path, data={"csrf_token": form_token} if method == "POST" else None,
                                      headers={"Authorization": f"Bearer {token}", "X-CSRF-Token": form_token})
            _assert_clean_error(response, path, 404, "There is nothing at")
            checked.append(f"{method} {prefix}{route.path}")
    return checked


def test_a_form_field_naming_an_id_beyond_any_record_answers_400(client: TestClient) -> None:
    sign_up(client, "collector@example.org")
    path = f"/papers/{HOSTILE_ID}/collect"
    answer = client.post(path, data={"collection_id": str(BEYOND_ANY_ID), "csrf_token": csrf(client, "/me")})
    _assert_clean_error(answer, path, 400, "collection_id must be a whole number from 0 to 2147483647")
    follow = client.post("/follows", data={"kind": "topic", "value": "²", "csrf_token": csrf(client, "/me")})
    assert follow.status_code == 404


# Text limits -----------------------------------------------------------------------------------------------------

def test_the_api_refuses_a_megabyte_description_and_a_nul_in_a_name(client: TestClient) -> None:
    sign_up(client, "writer@example.org")
    auth = {"Authorization": f"Bearer {api_token(client)}"}
    huge = client.post("/api/collections", json={"name": "Big", "description": "x" * 1_000_000}, headers=auth)
    _assert_clean_error(huge, "/api/collections", 422,
                        "The collection description (description) must be at most 5,000 characters, not 1,000,000")
    nul = client.post("/api/collections", json={"name": "Reading\x00list"}, headers=auth)
    _assert_clean_error(nul, "/api/collections", 422, "The collection name (name) must not contain control "
                                                      "characters (it has U+0000 at position 8)")
    surrogate = client.post("/api/collections", content=b'{"name": "a\\ud800"}',
                            headers={**auth, "Content-Type": "application/json"})
    _assert_clean_error(surrogate, "/api/collections", 422, "U+D800")
    assert client.get("/api/collections", headers=auth).json() == []  # nothing was stored
    fine = client.post("/api/collections", json={"name": "Notes", "description": "line one\r\n\tline two"},
                       headers=auth)
    assert fine.status_code == 201 and fine.json()["description"] == "line one\r\n\tline two"


def test_the_forms_refuse_the_same_text_as_the_api(client: TestClient) -> None:
    sign_up(client, "former@example.org")
    token = csrf(client, "/me")
    cases = [("/collections", {"name": "x\x00"}, "The collection name (name) must not contain control"),
             ("/collections", {"name": "ok", "description": "d" * 5001}, "at most 5,000 characters, not 5,001"),
             ("/collections", {"name": "   "}, "The collection name (name) must not be empty"),
             (f"/papers/{HOSTILE_ID}/tags", {"tag": "a\x1bb"}, "The tag (tag) must not contain control"),
             ("/me/settings", {"display_name": "Eve\x07"}, "The display name (display_name) must not contain"),
             ("/follows", {"kind": "query", "value": "q" * 501}, "What you follow (value) must be at most 500"),
             ("/submit", {"arxiv_id": "2503.11731\x00"}, "The paper id or link (arxiv_id) must not contain")]
    for path, data, words in cases:
        _assert_clean_error(client.post(path, data={**data, "csrf_token": token}), path, 422, words)
    assert "former@example.org" in client.get("/me").text
    assert client.get("/api/collections").json() == []


def test_search_parameters_are_bounded(client: TestClient) -> None:
    for path in ("/search", "/api/search", "/feeds/search.xml", "/search/bibtex"):
        response = client.get(path, params={"q": "robot\x00arm"})
        _assert_clean_error(response, path, 422, "The search query (q) must not contain control characters")
        long = client.get(path, params={"q": "w " * 300})
        _assert_clean_error(long, path, 422, "The search query (q) must be at most 500 characters, not 600")
    author = client.get("/api/papers", params={"author": "A" * 201})
    _assert_clean_error(author, "/api/papers", 422, "The author filter (author) must be at most 200 characters")


def test_the_openapi_schema_documents_every_limit(client: TestClient) -> None:
    components = client.get("/openapi.json").json()["components"]["schemas"]
    name, description = (components["CollectionIn"]["properties"][f] for f in ("name", "description"))
    assert (name["maxLength"], name["minLength"], description["maxLength"]) == (200, 1, 5000)
    assert re.fullmatch(name["pattern"], "Reading list") and not re.search(name["pattern"], "a\x00b")
    assert re.search(description["pattern"], "two\nlines\tand a tab")
    assert not re.search(name["pattern"], "two\nlines")
    assert components["SubmissionIn"]["properties"]["arxiv_id"]["maxLength"] == limits.ARXIV_ID.max_length


def test_the_store_refuses_text_beyond_every_limit(tmp_path: Path, backend: str) -> None:
    with fresh_database(backend, tmp_path) as url, open_store(url) as store:
        user = store.accounts.create_user("keeper@example.org")
        refusals = {
            "collection name": lambda: store.accounts.create_collection(user.id, "a\x00b"),
            "collection description": lambda: store.accounts.create_collection(user.id, "ok", description="x" * 5001),
            "description edited": lambda: store.accounts.update_collection(
                store.accounts.create_collection(user.id, "mine").id, owner_id=user.id, description="\x00"),
            "token name": lambda: store.sessions.create_api_token(user.id, "laptop\x7f"),
            "follow": lambda: store.digests.follow(user.id, "query", "robots\x00"),
            "topic follow": lambda: store.digests.follow(user.id, "topic", "²"),
            "display name": lambda: store.accounts.update_user(user.id, display_name="n" * 101),
            "time zone": lambda: store.accounts.update_user(user.id, timezone="UTC\n"),
            "new user's name": lambda: store.accounts.create_user("other@example.org", display_name="\x1b[31m"),
        }
        for what, attempt in refusals.items():
            with pytest.raises(InputError) as refused:
                attempt()
            assert "(" in str(refused.value) and ")" in str(refused.value), (what, refused.value)
        assert [c.name for c in store.accounts.list_collections(user.id, viewer_id=user.id)] == ["mine"]
        assert store.accounts.get_collection(MAX_RECORD_ID + 1, viewer_id=user.id) is None
        assert store.topics.get_topic(BEYOND_ANY_ID) is None


def test_every_limit_refuses_control_characters_and_excess() -> None:
    for name, limit in limits.ALL.items():
        assert limit.problem("fine text") is None, name
        assert f"({limit.field})" in (limit.problem("x" * (limit.max_length + 1)) or ""), name
        assert limit.problem("bad\x00") and limit.problem("bad\x85") and limit.problem("bad\ud800"), name
        assert bool(limit.problem("two\nlines")) is not limit.multiline, name
    assert inspect.getdoc(limits)


def test_paper_ids_and_feed_tokens_in_paths_are_bounded(client: TestClient) -> None:
    """A NUL in a path is no paper id (PostgreSQL cannot even compare it): 404, on every route that reads one."""
    sign_up(client, "pather@example.org")
    auth = {"Authorization": f"Bearer {api_token(client)}"}
    for method, path in [("GET", "/papers/2503.11731%00"), ("GET", "/api/papers/2503%00/similar"),
                         ("GET", "/api/papers/%1b"), ("PUT", "/api/papers/x%00/vote"),
                         ("DELETE", "/api/collections/1/papers/x%00"), ("GET", "/feeds/users/ab%00cd.xml"),
                         ("GET", f"/papers/{'9' * 301}")]:
        response = client.request(method, path, headers=auth, json={"up": True} if method == "PUT" else None)
        _assert_clean_error(response, path, 404, "There is nothing at")
