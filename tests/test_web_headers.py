"""Security headers (web/headers.py) on every response of the app: each GET route of the app, walked from its
route table, signed in and anonymous, answers with the Content-Security-Policy, nosniff and Referrer-Policy;
pages that show secrets are never stored."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.web.headers import inline_script_hashes, policy
from paperscope.web.routes import ROUTERS, digest_routers
from tests.web_support import MATH_ID, api_token, client_fixture, csrf, sign_up, site_fixture  # noqa: F401 (registers them)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

PATH_VALUES = {"paper_id": MATH_ID, "topic_id": "1",
               "author_id": "1", "comment_id": "1"}  # collection_id and token come from the signed-in user


def _get_paths(client: TestClient, values: dict[str, str]) -> list[str]:
    """Every GET route of the app (its routers, as `include_routers` mounts them, and the app's own routes)
    with its path parameters filled in."""
    app_routes = [("", route) for route in client.app.routes]  # type: ignore[attr-defined]
    routed = [(prefix, route) for prefix, router in ROUTERS + digest_routers() for route in router.routes]
    paths = []
    for prefix, route in app_routes + routed:
        if isinstance(route, APIRoute) and "GET" in route.methods:
            paths.append(re.sub(r"\{(\w+)(:[\w]+)?\}", lambda m: values[m.group(1)], prefix + route.path))
    return paths


def _assert_security_headers(response: object, where: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0], where
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp, where
    assert headers.get("x-content-type-options") == "nosniff", where
    assert headers.get("referrer-policy") == "same-origin", where


@pytest.fixture(name="signed_in_paths")
def signed_in_paths_fixture(client: TestClient) -> list[str]:
    sign_up(client, "headers@example.org")
    created = client.post("/collections", data={"name": "Headers", "public": "1", "csrf_token": csrf(client, "/me")},
                          follow_redirects=False)
    collection_id = created.headers["location"].rstrip("/").split("/")[-1]
    feed = re.search(r"/feeds/users/([^<\s]+)\.xml", client.get("/me").text)
    assert feed and collection_id.isdigit()
    return _get_paths(client, {**PATH_VALUES, "collection_id": collection_id, "token": feed.group(1)})


def test_every_get_route_answers_with_the_security_headers(client: TestClient, signed_in_paths: list[str]) -> None:
    assert len(signed_in_paths) >= 30  # the walk reaches the app's routes (a guard against an empty table)
    anonymous = TestClient(client.app)
    html_pages = 0
    for path in [*signed_in_paths, "/docs", "/static/app.js", "/static/plotly/plotly.min.js", "/no/such/page"]:
        for who, http in (("signed in", client), ("anonymous", anonymous)):
            response = http.get(path, follow_redirects=False)
            assert response.status_code < 500, (path, who, response.text[:300])
            _assert_security_headers(response, f"{who} GET {path}")
            html_pages += response.headers.get("content-type", "").startswith("text/html")
    assert html_pages >= 20


def test_pages_that_show_secrets_are_never_stored(client: TestClient) -> None:
    sign_up(client, "secrets@example.org")
    token_page = client.post("/me/tokens", data={"name": "laptop", "csrf_token": csrf(client, "/me")})
    assert 'id="new-token"' in token_page.text  # the page shows the new token
    assert token_page.headers["cache-control"] == "no-store"
    me = client.get("/me")
    assert me.headers["cache-control"] == "no-store"
    feed = re.search(r"/feeds/users/[^<\s]+\.xml", me.text)
    assert feed
    assert TestClient(client.app).get(feed.group(0)).headers["cache-control"] == "no-store"  # the address is a secret
    assert client.get("/").headers["cache-control"] == "no-store"  # a signed-in page shows who is signed in
    token = api_token(client, "api")
    api = TestClient(client.app).get("/api/collections", headers={"Authorization": f"Bearer {token}"})
    assert api.headers["cache-control"] == "no-store"


def test_anonymous_pages_and_static_files_keep_their_caching(client: TestClient) -> None:
    assert "cache-control" not in client.get("/").headers  # the trending page, cacheable for readers
    sign_up(client, "cacher@example.org")
    assert "no-store" not in client.get("/static/style.css").headers.get("cache-control", "")
    plotly = client.get("/static/plotly/plotly.min.js").headers["cache-control"]
    assert plotly == "public, max-age=86400"


def test_only_the_api_docs_allow_their_inline_script_and_only_the_topic_map_inline_styles(
        client: TestClient, site: Settings) -> None:
    docs = client.get("/docs")
    hashes = inline_script_hashes(docs.text)
    assert len(hashes) == 1 and hashes[0] in docs.headers["content-security-policy"]
    for path in ("/", f"/papers/{MATH_ID}", "/search?q=clustering", "/topics/map"):
        assert client.get(path).headers["content-security-policy"] == policy()
    for path in ("/topics", "/topics/1"):
        csp = client.get(path).headers["content-security-policy"]
        assert "style-src-elem 'self' 'unsafe-inline'" in csp and "style-src 'self';" in csp
    unsubscribe = client.get("/unsubscribe?token=damaged").headers["content-security-policy"]
    assert "style-src-attr 'unsafe-inline'" in unsubscribe and "style-src 'self';" in unsubscribe
