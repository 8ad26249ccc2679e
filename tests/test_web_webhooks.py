"""Webhooks on the account page: add, send a test to a local receiver, remove, turn on again; the security rules
hold (CSRF on every form, bounded fields, a user reaches only their own webhooks, the URL's secret part and the
signing secret never shown again)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.digest.webhooks import SIGNATURE_HEADER, verify_signature
from paperscope.store import open_store
from paperscope.store.webhooks import Webhook
from tests.http_fixture_server import FixtureServer, Reply
from tests.http_fixture_server import fixture_server as fixture_server  # noqa: F401 (registers it)
from tests.web_support import csrf, sign_up, site_settings

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

SLACK = "/hooks/slack/T0001/B0001/TOPSECRETPATH"


@pytest.fixture
def site(tmp_path: Path) -> Settings:
    return site_settings(tmp_path, webhooks_per_user=3, webhook_test_seconds=60, webhook_retries=0,
                         webhook_timeout_seconds=5)


@pytest.fixture
def client(site: Settings) -> Iterator[TestClient]:
    from paperscope.web import create_app

    with TestClient(create_app(site)) as test_client:
        yield test_client


def add(client: TestClient, url: str, **fields: str) -> object:
    return client.post("/me/webhooks", data={"url": url, "csrf_token": csrf(client, "/me"), **fields},
                       follow_redirects=False)


def webhooks_of(site: Settings, email: str) -> list[Webhook]:
    with open_store(site.database_url) as store:
        return store.webhooks.of_user(store.accounts.require_user(email).id)


def test_add_test_and_remove_a_webhook_from_the_account_page(client: TestClient, site: Settings,
                                                             fixture_server: FixtureServer) -> None:
    fixture_server.route(SLACK, lambda _: Reply(200, "ok"))
    sign_up(client, "ada@example.org")
    answer = add(client, fixture_server.url + SLACK, format="slack", content="query", value="graph clustering",
                 frequency="weekly", hour="9", max_papers="5")
    assert answer.status_code == 303 and answer.headers["location"] == "/me#webhooks"  # type: ignore[attr-defined]
    [webhook] = webhooks_of(site, "ada@example.org")
    assert (webhook.format, webhook.content, webhook.value, webhook.frequency, webhook.hour, webhook.max_papers) == \
        ("slack", "query", "graph clustering", "weekly", 9, 5)
    for path in ("/me", "/me/webhooks"):
        page = client.get(path).text
        assert f"{fixture_server.url}/hooks/…" in page and "TOPSECRETPATH" not in page and "T0001" not in page

    tested = client.post(f"/me/webhooks/{webhook.id}/test", data={"csrf_token": csrf(client, "/me")})
    assert tested.status_code == 200 and "Test message delivered" in tested.text
    [request] = fixture_server.requests_to(SLACK)
    assert json.loads(request.body)["blocks"][0]["text"]["text"].startswith("paperscope test message")
    again = client.post(f"/me/webhooks/{webhook.id}/test", data={"csrf_token": csrf(client, "/me")})
    assert again.status_code == 429 and again.headers["Retry-After"] == "60"  # one test a minute
    assert len(fixture_server.requests_to(SLACK)) == 1

    removed = client.post(f"/me/webhooks/{webhook.id}/remove", data={"csrf_token": csrf(client, "/me")})
    assert removed.status_code == 200 and webhooks_of(site, "ada@example.org") == []


def test_a_json_webhooks_secret_is_shown_once_and_signs_its_messages(client: TestClient, site: Settings,
                                                                     fixture_server: FixtureServer) -> None:
    fixture_server.route("/receiver", lambda _: Reply(200))
    sign_up(client, "ada@example.org")
    page = add(client, fixture_server.url + "/receiver", format="json")
    match = re.search(r'<code id="new-webhook-secret">([0-9a-f]{64})</code>', page.text)  # type: ignore[attr-defined]
    assert match
    secret = match.group(1)
    assert secret not in client.get("/me").text  # shown only on the answer to the form
    [webhook] = webhooks_of(site, "ada@example.org")
    client.post(f"/me/webhooks/{webhook.id}/test", data={"csrf_token": csrf(client, "/me")})
    [request] = fixture_server.requests_to("/receiver")
    assert verify_signature(secret, request.body, request.headers[SIGNATURE_HEADER])


def test_every_webhook_form_needs_the_csrf_token(client: TestClient, site: Settings) -> None:
    sign_up(client, "ada@example.org")
    refused = client.post("/me/webhooks", data={"url": "https://hooks.example.org/a/b"})
    assert refused.status_code == 403 and webhooks_of(site, "ada@example.org") == []
    add(client, "https://hooks.example.org/a/b")
    [webhook] = webhooks_of(site, "ada@example.org")
    for action in ("test", "remove", "resume"):
        assert client.post(f"/me/webhooks/{webhook.id}/{action}", data={"csrf_token": "forged"}).status_code == 403
    assert webhooks_of(site, "ada@example.org") == [webhook]


def test_a_user_reaches_only_their_own_webhooks(site: Settings, fixture_server: FixtureServer) -> None:
    from paperscope.web import create_app

    fixture_server.route("/ada", lambda _: Reply(200))
    app = create_app(site)
    with TestClient(app) as ada, TestClient(app) as bob:
        sign_up(ada, "ada@example.org")
        sign_up(bob, "bob@example.org")
        add(ada, fixture_server.url + "/ada/secret-part")
        [webhook] = webhooks_of(site, "ada@example.org")
        for action in ("test", "remove", "resume"):
            answer = bob.post(f"/me/webhooks/{webhook.id}/{action}", data={"csrf_token": csrf(bob, "/me")})
            assert answer.status_code == 404, action
        assert "/ada/" not in bob.get("/me").text and f"webhook-{webhook.id}" not in bob.get("/me").text
        assert webhooks_of(site, "ada@example.org") == [webhook] and fixture_server.requests == []
        signed_out = TestClient(app).post(f"/me/webhooks/{webhook.id}/remove", follow_redirects=False)
        assert signed_out.status_code in (303, 403)


@pytest.mark.parametrize(("fields", "status", "message"), [
    ({"url": "ftp://example.org/x"}, 400, "must start with https://"),
    ({"url": "https://user:pw@example.org/x"}, 400, "must not carry a user name or password"),
    ({"url": "https://example.org/" + "a" * 2001}, 422, "url"),
    ({"url": "https://example.org/x", "content": "query"}, 400, "needs the search to follow (value)"),
    ({"url": "https://example.org/x", "content": "topic", "value": "12"}, 400, "There is no topic 12"),
    ({"url": "https://example.org/x", "format": "irc"}, 422, "format"),
    ({"url": "https://example.org/x", "max_papers": "500"}, 422, "max_papers"),
])
def test_bad_webhook_fields_are_refused_with_a_message_naming_them(client: TestClient, site: Settings,
                                                                  fields: dict[str, str], status: int,
                                                                  message: str) -> None:
    sign_up(client, "ada@example.org")
    answer = client.post("/me/webhooks", data={"csrf_token": csrf(client, "/me"), **fields})
    assert answer.status_code == status and message in answer.text, answer.text[:300]
    assert webhooks_of(site, "ada@example.org") == []


def test_an_account_has_a_bounded_number_of_webhooks(client: TestClient, site: Settings) -> None:
    sign_up(client, "ada@example.org")
    for n in range(3):
        add(client, f"https://hooks.example.org/hooks/{n}")
    refused = add(client, "https://hooks.example.org/hooks/3")
    assert refused.status_code == 400 and "the most an account may have" in refused.text  # type: ignore[attr-defined]
    assert len(webhooks_of(site, "ada@example.org")) == 3


def test_the_api_lists_adds_and_removes_only_the_callers_webhooks(site: Settings) -> None:
    from paperscope.web import create_app
    from tests.web_support import api_token

    app = create_app(site)
    with TestClient(app) as ada, TestClient(app) as bob:
        sign_up(ada, "ada@example.org")
        sign_up(bob, "bob@example.org")
        as_ada = {"Authorization": f"Bearer {api_token(ada)}"}
        as_bob = {"Authorization": f"Bearer {api_token(bob)}"}
        body = {"url": "https://hooks.example.org/hooks/TOPSECRET", "format": "json", "content": "query",
                "value": "graph clustering", "hour": 9}
        added = ada.post("/api/webhooks", json=body, headers=as_ada)
        assert added.status_code == 201, added.text
        created = added.json()
        assert created["url"] == "https://hooks.example.org/hooks/…" and len(created["secret"]) == 64
        again = ada.post("/api/webhooks", json={**body, "hour": 10}, headers=as_ada)
        assert again.status_code == 200 and again.json()["secret"] is None and again.json()["hour"] == 10
        listed = ada.get("/api/webhooks", headers=as_ada).json()
        assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
        assert "TOPSECRET" not in json.dumps(listed)
        assert bob.get("/api/webhooks", headers=as_bob).json() == []
        assert bob.delete(f"/api/webhooks/{created['id']}", headers=as_bob).status_code == 404
        refused = ada.post("/api/webhooks", json={**body, "url": "ftp://example.org/x"}, headers=as_ada)
        assert refused.status_code == 400 and "must start with https://" in refused.json()["error"]["message"]
        assert ada.post("/api/webhooks", json={**body, "hour": 24}, headers=as_ada).status_code == 422
        assert TestClient(app).get("/api/webhooks").status_code == 401
        assert ada.delete(f"/api/webhooks/{created['id']}", headers=as_ada).status_code == 204
        assert ada.get("/api/webhooks", headers=as_ada).json() == []
