"""Abuse of accounts, one test per promise: rate limits per account and per address (sign-in, sign-up,
submissions) that lock nobody else out, trusted proxies, answers that do not tell who has an account,
the password rule, credentials that end with a password change, and status messages that come from the
session rather than the URL."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.store import open_store
from paperscope.web import create_app
from tests.http_fixture_server import FixtureServer, Reply
from tests.http_fixture_server import fixture_server as fixture_server_fixture  # noqa: F401 (registers it)
from tests.web_support import PASSWORD, api_token, csrf, sign_up
from tests.web_support import site_fixture as site_fixture  # noqa: F401 (registers it)

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)


@contextmanager
def app_with(site: Settings, **settings: object) -> Iterator[FastAPI]:
    """The site's app with some settings changed, started and stopped around the block."""
    app = create_app(site.model_copy(update=settings))
    with TestClient(app):
        yield app


def browser(app: FastAPI, address: str, **headers: str) -> TestClient:
    """A browser of its own (own cookies) whose requests come from `address`."""
    return TestClient(app, client=(address, 50000), headers=headers)


def try_password(client: TestClient, email: str, password: str) -> int:
    form = {"email": email, "password": password, "csrf_token": csrf(client, "/signin")}
    return client.post("/signin", data=form, follow_redirects=False).status_code


# Sign-in limits ---------------------------------------------------------------------------------------


def test_wrong_passwords_from_one_address_lock_only_their_account(site: Settings) -> None:
    with app_with(site) as app:
        sign_up(browser(app, "192.0.2.10"), "locked@example.org")
        sign_up(browser(app, "192.0.2.11"), "neighbour@example.org")
        attacker = browser(app, "192.0.2.1")
        assert [try_password(attacker, "locked@example.org", "wrong guess 1") for _ in range(5)] == [400] * 5
        assert try_password(attacker, "locked@example.org", PASSWORD) == 429  # the account is locked
        # Someone else behind the same address signs in to their own account.
        assert try_password(browser(app, "192.0.2.1"), "neighbour@example.org", PASSWORD) == 303


def test_a_throttled_address_signs_in_only_to_accounts_its_browser_knows(site: Settings) -> None:
    with app_with(site, sign_in_address_attempts=3) as app:
        regular = browser(app, "198.51.100.20")
        sign_up(regular, "regular@example.org")  # this browser signs in to it: it knows the account
        sign_up(browser(app, "198.51.100.21"), "stuffed@example.org")
        stuffer = browser(app, "198.51.100.20")  # the same address as the regular's browser
        for victim in ("one@example.org", "two@example.org", "regular@example.org"):  # one guess each
            assert try_password(stuffer, victim, "leaked password 2019") == 400
        # A right password from the throttled address is refused before it is checked, so a list of
        # leaked passwords yields nothing from there ...
        refused = stuffer.post("/signin", data={"email": "stuffed@example.org", "password": PASSWORD,
                                                "csrf_token": csrf(stuffer, "/signin")}, follow_redirects=False)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
        # ... while the regular, whose browser signed in to the account before, still signs in,
        regular.post("/signout", data={"csrf_token": csrf(regular, "/me")})
        assert try_password(regular, "regular@example.org", PASSWORD) == 303
        # and the stuffed account itself is not locked: from elsewhere its owner signs in.
        assert try_password(browser(app, "198.51.100.99"), "stuffed@example.org", PASSWORD) == 303


def test_addresses_forwarded_by_a_trusted_proxy_are_throttled_apart(site: Settings) -> None:
    with pytest.raises(ValidationError, match="not an IP address or network"):
        Settings(trusted_proxies="proxy.example.org")
    with app_with(site, trusted_proxies="10.0.0.1, 10.9.0.0/16", sign_in_address_attempts=2,
                  sign_in_attempts=10) as app:
        sign_up(browser(app, "192.0.2.30"), "proxied@example.org")
        guesser = browser(app, "10.0.0.1", **{"X-Forwarded-For": "203.0.113.5"})
        for victim in ("a@example.org", "b@example.org"):
            assert try_password(guesser, victim, "wrong guess 2") == 400
        assert try_password(browser(app, "10.9.3.4", **{"X-Forwarded-For": "203.0.113.5"}),
                            "proxied@example.org", PASSWORD) == 429  # the same client, through the other proxy
        assert try_password(browser(app, "10.0.0.1", **{"X-Forwarded-For": "203.0.113.6"}),
                            "proxied@example.org", PASSWORD) == 303  # another client behind the proxy
        # An untrusted sender's X-Forwarded-For is ignored: changing it escapes nothing.
        for forged in ("203.0.113.7", "203.0.113.8"):
            assert try_password(browser(app, "192.0.2.31", **{"X-Forwarded-For": forged}), "c@example.org",
                                "wrong guess 3") == 400
        assert try_password(browser(app, "192.0.2.31", **{"X-Forwarded-For": "203.0.113.9"}),
                            "proxied@example.org", PASSWORD) == 429


# Who has an account ------------------------------------------------------------------------------------


def test_sign_in_answers_alike_for_unknown_and_known_accounts(site: Settings) -> None:
    with app_with(site, sign_in_attempts=100, sign_in_address_attempts=100) as app:
        sign_up(browser(app, "192.0.2.40"), "known@example.org")
        prober = browser(app, "192.0.2.41")

        def answer(email: str) -> tuple[int, str, float]:
            form = {"email": email, "password": "not the password 7", "csrf_token": csrf(prober, "/signin")}
            start = time.perf_counter()
            response = prober.post("/signin", data=form)
            elapsed = time.perf_counter() - start
            error = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
            return response.status_code, error.group(1) if error else "", elapsed

        answers = [answer(email) for _ in range(5) for email in ("known@example.org", "nobody@example.org")]
        known, unknown = answers[0::2], answers[1::2]
        assert {a[:2] for a in answers} == {(400, "Wrong e-mail or password.")}
        known_time, unknown_time = statistics.median(a[2] for a in known), statistics.median(a[2] for a in unknown)
        # Both verify an Argon2 hash (a dummy one for the unknown address): not 10 ms against 260 ms.
        assert unknown_time > 0.6 * known_time, (unknown_time, known_time)


def test_sign_up_does_not_tell_whether_the_address_has_an_account(site: Settings) -> None:
    with app_with(site) as app:
        sign_up(browser(app, "192.0.2.50"), "taken@example.org")

        def sign_up_answer(email: str) -> tuple[int, str, str]:
            client = browser(app, "192.0.2.51")
            form = {"email": email, "password": "another strong passphrase 42", "csrf_token": csrf(client, "/signup")}
            response = client.post("/signup", data=form, follow_redirects=False)
            landing = client.get(response.headers["location"]).text
            notice = re.search(r'<p class="notice" role="status">([^<]*)</p>', landing)
            assert notice and 'value="' + email + '"' in landing  # the sign-in form, filled in
            return response.status_code, response.headers["location"], notice.group(1).replace(email, "EMAIL")

        assert sign_up_answer("taken@example.org") == sign_up_answer("untaken@example.org")
        # The existing account kept its password; the new one has the password typed.
        assert try_password(browser(app, "192.0.2.52"), "taken@example.org", "another strong passphrase 42") == 400
        assert try_password(browser(app, "192.0.2.52"), "taken@example.org", PASSWORD) == 303
        assert try_password(browser(app, "192.0.2.52"), "untaken@example.org", "another strong passphrase 42") == 303


def test_sign_ups_are_limited_per_address(site: Settings) -> None:
    with app_with(site, sign_ups_per_hour=2) as app:
        for number in (1, 2):
            sign_up(browser(app, "192.0.2.60"), f"signup{number}@example.org")
        client = browser(app, "192.0.2.60")
        form = {"email": "signup3@example.org", "password": PASSWORD, "csrf_token": csrf(client, "/signup")}
        refused = client.post("/signup", data=form)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
        assert "Too many sign-ups from your address" in refused.text
        sign_up(browser(app, "192.0.2.61"), "signup3@example.org")  # another address is not affected


# Passwords ---------------------------------------------------------------------------------------------


def test_weak_and_overlong_passwords_are_refused_everywhere(site: Settings, tmp_path: Path) -> None:
    with app_with(site) as app:
        client = browser(app, "192.0.2.70")
        cases = {"password": "top-10 common password", "weak.pass@example.org": "e-mail address or name",
                 " " * 8: "Repeats", "Weak Passerby 1": "e-mail address or name",
                 "Tr0ub4dor&3 " * 8500: "at most 128 characters"}
        for password, advice in cases.items():
            form = {"email": "weak.pass@example.org", "display_name": "Weak Passerby", "password": password,
                    "csrf_token": csrf(client, "/signup")}
            start = time.perf_counter()
            refused = client.post("/signup", data=form)
            assert refused.status_code == 400 and advice in refused.text, password[:20]
            if len(password) > 1000:  # its length is checked before anything is hashed (0.5 s) or estimated
                assert time.perf_counter() - start < 0.4
        sign_up(client, "weak.pass@example.org")  # the shared test password is strong
        change = client.post("/me/password", data={"current": PASSWORD, "new": "weak.pass@example.org",
                                                   "csrf_token": csrf(client, "/me")})
        assert change.status_code == 400 and "New password: This password is too easy to guess" in change.text
    cli = CliRunner(env={"PAPERSCOPE_DATABASE_URL": str(tmp_path / "cli.db")})
    weak = cli.invoke(main, ["users", "add", "ops@example.org", "--password-stdin"], input="password1\n")
    assert weak.exit_code == 1 and "too easy to guess" in weak.output


# Credentials -------------------------------------------------------------------------------------------


def test_a_password_change_revokes_the_api_tokens_unless_asked_not_to(site: Settings) -> None:
    with app_with(site) as app:
        client = browser(app, "192.0.2.80")
        sign_up(client, "rotator@example.org")
        assert re.search(r'name="revoke_tokens" value="true" checked', client.get("/me").text)
        kept = {"Authorization": f"Bearer {api_token(client, 'kept')}"}
        new = "a second strong passphrase 17"
        client.post("/me/password", data={"current": PASSWORD, "new": new, "csrf_token": csrf(client, "/me")})
        assert client.get("/api/submissions", headers=kept).status_code == 200  # box left unticked: kept
        revoked = {"Authorization": f"Bearer {api_token(client, 'revoked')}"}
        changed = client.post("/me/password", data={"current": new, "new": PASSWORD, "revoke_tokens": "true",
                                                    "csrf_token": csrf(client, "/me")})
        assert changed.status_code == 200 and "your 2 API token(s) revoked" in changed.text
        assert client.get("/api/submissions", headers=kept).status_code == 401
        assert client.get("/api/submissions", headers=revoked).status_code == 401


def test_the_private_feed_gets_a_new_address_from_the_settings_page(site: Settings) -> None:
    with app_with(site) as app:
        client = browser(app, "192.0.2.90")
        sign_up(client, "feeder@example.org")
        feed = re.compile(r'<code id="private-feed">[^<]*(/feeds/users/[^<]+\.xml)</code>')
        old = feed.search(client.get("/me").text)
        assert old and client.get(old.group(1)).status_code == 200
        rotated = client.post("/me/feed-token", data={"csrf_token": csrf(client, "/me")})
        assert rotated.status_code == 200 and "Your private feed has a new address" in rotated.text
        new = feed.search(rotated.text)
        assert new and new.group(1) != old.group(1)
        assert client.get(old.group(1)).status_code == 404 and client.get(new.group(1)).status_code == 200


def test_status_messages_come_from_the_session_once(site: Settings) -> None:
    with app_with(site) as app:
        client = browser(app, "192.0.2.100")
        sign_up(client, "flash@example.org")
        planted = client.get("/me", params={"message": "Your account is suspended: call +1 555 0100"})
        assert not re.search(r'role="status">[^<]*suspended', planted.text)
        saved = client.post("/me/settings", data={"display_name": "Flash", "csrf_token": csrf(client, "/me")},
                            follow_redirects=False)
        assert saved.headers["location"] == "/me#settings"
        assert client.get("/me").text.count("Settings saved.") == 1
        assert "Settings saved." not in client.get("/me").text  # shown once


# Submissions -------------------------------------------------------------------------------------------


def test_submissions_are_limited_per_account_and_address_before_arxiv_is_asked(
        site: Settings, fixture_server: FixtureServer) -> None:
    fixture_server.reply("/api/query", *[Reply(503)] * 10)
    with app_with(site, arxiv_api_url=fixture_server.url + "/api/query", submissions_per_hour=2,
                  submissions_per_hour_per_address=3) as app:
        first, second = browser(app, "192.0.2.110"), browser(app, "192.0.2.110")
        sign_up(first, "submitter1@example.org")
        sign_up(second, "submitter2@example.org")
        bearer = {"Authorization": f"Bearer {api_token(first)}"}
        for _ in range(2):
            assert first.post("/api/submissions", json={"arxiv_id": "2503.11731"}, headers=bearer).status_code == 502
        refused = first.post("/api/submissions", json={"arxiv_id": "2503.11731"}, headers=bearer)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 3000
        assert refused.json()["error"]["code"] == "too_many_requests"
        assert "Too many submissions" in refused.json()["error"]["message"]
        page = first.post("/submit", data={"arxiv_id": "2503.11731", "csrf_token": csrf(first, "/submit")})
        assert page.status_code == 429 and "Too many submissions" in page.text  # the form too
        # The other account behind the same address has the address's last submission of the hour.
        form = {"arxiv_id": "2503.11731", "csrf_token": csrf(second, "/submit")}
        assert second.post("/submit", data=form).status_code == 502
        assert second.post("/submit", data=form).status_code == 429
    assert len(fixture_server.requests_to("/api/query")) == 3  # the refused ones never reached arXiv


# Operators ---------------------------------------------------------------------------------------------


def test_users_list_shows_who_is_locked(site: Settings) -> None:
    with app_with(site) as app:
        client = browser(app, "192.0.2.120")
        sign_up(client, "listed@example.org")
        api_token(client)
        attacker = browser(app, "192.0.2.121")
        for _ in range(5):
            try_password(attacker, "listed@example.org", "wrong guess 4")
    cli = CliRunner(env={"PAPERSCOPE_DATABASE_URL": site.database_url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing"})
    listed = cli.invoke(main, ["users", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = {row["email"]: row for row in json.loads(listed.output)}
    locked = rows["listed@example.org"]
    assert locked["api_tokens"] == 1 and locked["subscribed"] is False and locked["created_at"]
    assert locked["failed_sign_ins"] == 5 and locked["locked_for_seconds"] > 0
    text = cli.invoke(main, ["users", "list"]).output
    line = next(line for line in text.splitlines() if "listed@example.org" in line)
    assert "locked" in line and "1 token" in line
    with open_store(site.database_url) as store:
        assert store.accounts.require_user("listed@example.org").can_sign_in
