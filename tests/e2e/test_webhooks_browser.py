"""In a real browser: a reader adds a Mattermost webhook on the account page, sends it a test message that a local
receiver records, and removes it, with no Content-Security-Policy violation on the way; the page never shows the
URL's secret part."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_browser import _shot, browser, server, sign_up  # noqa: F401 (fixtures)
from tests.e2e.test_csp import Watched, watched  # noqa: F401 (fixtures)
from tests.http_fixture_server import FixtureServer, Reply
from tests.http_fixture_server import fixture_server as fixture_server  # noqa: F401 (registers it)

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]

HOOK = "/hooks/e2esecretkey123"


def test_a_webhook_is_added_tested_and_removed_on_the_account_page(
        server: str, watched: Watched, fixture_server: FixtureServer) -> None:  # noqa: F811
    fixture_server.route(HOOK, lambda _: Reply(200, "ok"))
    page: Any = watched.page
    sign_up(page, server, "channel-owner@example.org")

    page.goto(f"{server}/me#webhooks")
    form = page.locator("form[action='/me/webhooks']")
    form.locator("input[name=url]").fill(fixture_server.url + HOOK)
    form.locator("select[name=format]").select_option("mattermost")
    form.locator("select[name=content]").select_option("trending")
    form.locator("button[type=submit]").click()
    page.wait_for_url(f"{server}/me#webhooks")
    entry = page.locator("li.webhook")
    assert entry.count() == 1 and f"{fixture_server.url}/hooks/…" in entry.inner_text()
    assert "e2esecretkey123" not in page.content()
    _shot(page, "17-webhook-added")

    entry.locator("form[action$='/test'] button").click()
    page.wait_for_url(f"{server}/me#webhooks")
    assert page.get_by_text("Test message delivered").count() == 1
    [request] = fixture_server.requests_to(HOOK)
    assert json.loads(request.body)["text"].startswith("#### paperscope test message")

    page.locator("li.webhook form[action$='/remove'] button").click()
    page.wait_for_url(f"{server}/me#webhooks")
    assert page.locator("li.webhook").count() == 0
    assert watched.violations() == []
