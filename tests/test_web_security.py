"""Security of the web app, one test per promise: password hashing, signed HttpOnly SameSite session
cookies that end on sign-out, CSRF on every state-changing form, one vote per user per paper, sign-in
rate limiting, escaping, private collections, secret keys, redirects."""

from __future__ import annotations

import base64
import json
import re

import itsdangerous
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from paperscope.config import Settings
from paperscope.store import open_store
from paperscope.web.security import SESSION_COOKIE
from tests.web_support import HOSTILE_ID, MATH_ID, PASSWORD, api_token, client_fixture, csrf, sign_up, site_fixture  # noqa: F401 (registers them)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

HF_PAPER = "2606.06113"


def _new_client(client: TestClient) -> TestClient:
    return TestClient(client.app)


def test_passwords_are_stored_as_argon2id(client: TestClient, site: Settings) -> None:
    sign_up(client, "hash@example.org")
    with open_store(site.database_url) as store:
        user = store.accounts.require_user("hash@example.org")
        stored = store.accounts.password_hash(user.id)
    assert stored is not None and stored.startswith("$argon2id$") and PASSWORD not in stored


def test_session_cookie_is_signed_httponly_samesite(client: TestClient) -> None:
    sign_up(client, "cookie@example.org")
    client.post("/signout", data={"csrf_token": csrf(client, "/me")})
    form = {"email": "cookie@example.org", "password": PASSWORD, "csrf_token": csrf(client, "/signin")}
    response = client.post("/signin", data=form, follow_redirects=False)
    header = response.headers["set-cookie"]
    assert header.startswith(f"{SESSION_COOKIE}=") and "httponly" in header.lower()
    assert "samesite=lax" in header.lower()
    assert "cookie@example.org" in client.get("/me", follow_redirects=False).text
    # A cookie whose payload was changed (a forged session) is ignored: its signature no longer matches.
    value = client.cookies[SESSION_COOKIE]
    payload, rest = value.split(".", 1)
    data = json.loads(base64.b64decode(payload + "=="))
    data["sid"] = "forged"
    forged = base64.b64encode(json.dumps(data).encode()).decode().rstrip("=") + "." + rest
    attacker = _new_client(client)
    attacker.cookies.set(SESSION_COOKIE, forged)
    assert attacker.get("/me", follow_redirects=False).status_code == 303


def test_sign_out_ends_the_session_on_the_server(client: TestClient) -> None:
    sign_up(client, "leaver@example.org")
    stolen = client.cookies[SESSION_COOKIE]
    client.post("/signout", data={"csrf_token": csrf(client, "/me")})
    assert client.get("/me", follow_redirects=False).status_code == 303
    replay = _new_client(client)
    replay.cookies.set(SESSION_COOKIE, stolen)  # the cookie from before signing out
    assert replay.get("/me", follow_redirects=False).status_code == 303


def test_every_state_changing_form_needs_the_csrf_token(client: TestClient) -> None:
    sign_up(client, "csrf@example.org")
    other = _new_client(client)
    sign_up(other, "csrf-other@example.org")
    foreign_token = csrf(other, "/me")  # valid, but another session's
    forms = [("/signout", {}), (f"/papers/{HF_PAPER}/vote", {"up": "1"}),
             (f"/papers/{HF_PAPER}/library", {"action": "save"}), (f"/papers/{HF_PAPER}/tags", {"tag": "x"}),
             (f"/papers/{HF_PAPER}/collect", {"new_name": "Sneaky"}), ("/collections", {"name": "Sneaky"}),
             ("/me/settings", {"display_name": "Sneaky"}), ("/me/tokens", {"name": "sneaky"}),
             ("/me/password", {"current": PASSWORD, "new": "another password"}), ("/submit", {"arxiv_id": "2503.1"}),
             ("/signin", {"email": "csrf@example.org", "password": PASSWORD}),
             ("/signup", {"email": "new@example.org", "password": PASSWORD}),
             ("/notifications/read", {}), ("/me/notifications", {"notify_email": "off"}),
             (f"/papers/{HF_PAPER}/discussion/follow", {}), (f"/papers/{HF_PAPER}/discussion/unfollow", {})]
    for path, data in forms:
        assert client.post(path, data=data).status_code == 403, path
        assert client.post(path, data={**data, "csrf_token": foreign_token}).status_code == 403, path
    assert client.get("/api/votes").json() == [] and client.get("/api/collections").json() == []
    assert "csrf@example.org" in client.get("/me").text  # still signed in: the sign-out was refused
    # The JSON API with a session cookie needs the token in a header; with an API token it does not.
    assert client.put(f"/api/papers/{HF_PAPER}/vote", json={"up": True}).status_code == 403
    ok = client.put(f"/api/papers/{HF_PAPER}/vote", json={"up": True}, headers={"X-CSRF-Token": csrf(client, "/me")})
    assert ok.status_code == 200


def test_one_vote_per_user_per_paper(client: TestClient) -> None:
    sign_up(client, "eager@example.org")
    before = client.get(f"/api/papers/{MATH_ID}").json()["upvotes"]
    token = csrf(client, f"/papers/{MATH_ID}")
    for _ in range(3):
        client.post(f"/papers/{MATH_ID}/vote", data={"up": "1", "csrf_token": token})
    bearer = {"Authorization": f"Bearer {api_token(client)}"}
    client.put(f"/api/papers/{MATH_ID}/vote", json={"up": True}, headers=bearer)
    assert client.get(f"/api/papers/{MATH_ID}").json()["upvotes"] == before + 1


def test_sign_in_is_rate_limited(client: TestClient) -> None:
    sign_up(client, "target@example.org")
    attacker = _new_client(client)
    token = csrf(attacker)
    for _ in range(5):
        wrong = attacker.post("/signin", data={"email": "target@example.org", "password": "guess-guess",
                                               "csrf_token": token})
        assert wrong.status_code == 400 and "Wrong e-mail or password" in wrong.text
    blocked = attacker.post("/signin", data={"email": "target@example.org", "password": PASSWORD,
                                             "csrf_token": token})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in blocked.text
    # The owner, from another browser, is blocked for this account too (the account's limit); see
    # tests/test_web_abuse.py for the address's limit, which locks no account.
    owner = _new_client(client)
    owner_form = {"email": "target@example.org", "password": PASSWORD, "csrf_token": csrf(owner)}
    assert owner.post("/signin", data=owner_form).status_code == 429


def test_titles_abstracts_and_authors_are_escaped(client: TestClient) -> None:
    sign_up(client, "fan-of-mallory@example.org")  # an upvote puts the paper on top of today's trending page
    client.post(f"/papers/{HOSTILE_ID}/vote", data={"up": "1", "csrf_token": csrf(client, "/me")})
    pages = [f"/papers/{HOSTILE_ID}", "/search?q=friends+alert", "/"]
    for path in pages:
        html = client.get(path).text
        assert HOSTILE_ID in html, path
        assert "<script>alert(1)" not in html and "<b>Mallory</b>" not in html and "<img src=x" not in html, path
        assert "&lt;script&gt;" in html and "&lt;b&gt;Mallory&lt;/b&gt;" in html, path
    feed = client.get("/feeds/search.xml", params={"q": "friends alert"}).text
    assert "<script>" not in feed and "&lt;script&gt;" in feed
    assert client.get(f"/api/papers/{HOSTILE_ID}").json()["title"] == "<script>alert(1)</script> & friends"


def test_private_collections_stay_private(client: TestClient) -> None:
    sign_up(client, "alice@example.org")
    token = csrf(client, "/me")
    client.post("/collections", data={"name": "Alice private", "csrf_token": token})
    client.post("/collections", data={"name": "Alice public", "public": "1", "csrf_token": token})
    mine = {c["name"]: c["id"] for c in client.get("/api/collections").json()}
    private, public = mine["Alice private"], mine["Alice public"]
    client.post(f"/papers/{HF_PAPER}/collect", data={"collection_id": str(private), "csrf_token": token})

    bob = _new_client(client)
    sign_up(bob, "bob@example.org")
    bob_token = csrf(bob, "/me")
    bearer = {"Authorization": f"Bearer {api_token(bob)}"}
    anonymous = _new_client(client)
    for reader in (bob, anonymous):
        assert reader.get(f"/collections/{private}").status_code == 404
        assert reader.get(f"/collections/{private}/bibtex").status_code == 404
        assert reader.get(f"/api/collections/{private}").status_code == 404
        assert reader.get(f"/collections/{public}").status_code == 200
    attempts = [(f"/collections/{private}/edit", {"name": "Bob was here"}), (f"/collections/{private}/delete", {}),
                (f"/collections/{private}/remove", {"paper_id": HF_PAPER}), (f"/collections/{public}/delete", {}),
                (f"/papers/{MATH_ID}/collect", {"collection_id": str(private)})]
    for path, data in attempts:
        assert bob.post(path, data={**data, "csrf_token": bob_token}).status_code in (400, 404), path
    assert bob.post(f"/api/collections/{public}/papers", json={"paper_ids": [MATH_ID]},
                    headers=bearer).status_code == 404
    assert bob.delete(f"/api/collections/{private}", headers=bearer).status_code == 404
    assert bob.delete(f"/api/collections/{private}/papers/{HF_PAPER}", headers=bearer).status_code == 404
    alice_view = client.get(f"/api/collections/{private}").json()
    assert alice_view["name"] == "Alice private" and alice_view["paper_ids"] == [HF_PAPER]
    assert {c["name"] for c in client.get("/api/collections").json()} == {"Alice private", "Alice public"}


def test_placeholder_secret_is_refused_outside_development(tmp_path: object) -> None:
    with pytest.raises(ValidationError, match="PAPERSCOPE_SECRET_KEY"):
        Settings(environment="production", secret_key="change-me")
    with pytest.raises(ValidationError, match="PAPERSCOPE_SECRET_KEY"):
        Settings(environment="production", secret_key="short")
    assert Settings(environment="production", secret_key="k" * 40).secret_key == "k" * 40


def test_a_placeholder_key_never_signs_sessions(client: TestClient) -> None:
    # In development the app signs with a random key of its own, so a cookie signed with "change-me" is
    # worthless to an attacker who read the example configuration.
    sign_up(client, "victim@example.org")
    sid_cookie = client.cookies[SESSION_COOKIE]
    payload = json.loads(base64.b64decode(sid_cookie.split(".", 1)[0] + "=="))
    forged = itsdangerous.TimestampSigner("change-me").sign(
        base64.b64encode(json.dumps(payload).encode())).decode()
    attacker = _new_client(client)
    attacker.cookies.set(SESSION_COOKIE, forged)
    assert attacker.get("/me", follow_redirects=False).status_code == 303


def test_redirects_stay_on_this_site(client: TestClient) -> None:
    form = {"email": "redirect@example.org", "password": PASSWORD, "csrf_token": csrf(client, "/signup"),
            "next": "https://evil.example/steal"}
    response = client.post("/signup", data=form, follow_redirects=False)
    assert response.headers["location"] == "/signin?next=/"
    form = {**form, "csrf_token": csrf(client, "/signin")}
    assert client.post("/signin", data=form, follow_redirects=False).headers["location"] == "/"
    switched = client.get("/theme", params={"next": "//evil.example"}, follow_redirects=False)
    assert switched.headers["location"] == "/"
    assert re.search(r"theme=(light|dark|auto)", switched.headers["set-cookie"])
