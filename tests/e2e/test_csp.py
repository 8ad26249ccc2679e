"""The pages keep to their Content-Security-Policy in a real browser (web/headers.py): Debian's chromium reports
no violation on the main pages, the topic map with plotly.js, a paper with math and the API docs included, while
it does refuse a script injected into a page. And app.js's one new duty under that policy: the dismissible
"No network" notice."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, own_search_env
from tests.e2e.test_browser import _free_port, browser, server  # noqa: F401 (fixtures)
from tests.web_support import HOSTILE_ID, MATH_ID, PASSWORD, TEX_ID

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]

# Collects the browser's `securitypolicyviolation` events; added before any page script runs.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__violations.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                           e.sourceFile + ":" + e.lineNumber);
});
"""


class Watched:
    """A browser page whose CSP violations, as console messages and as events, are collected."""

    def __init__(self, context: Any) -> None:
        self.page = context.new_page()
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text))
        self.page.add_init_script(RECORD_VIOLATIONS)

    def violations(self) -> list[str]:
        events: list[str] = self.page.evaluate("window.__violations || []")
        reported = [m for m in self.console if "Content Security Policy" in m]
        return events + reported


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Watched(context)
    context.close()


def _visit(watched: Watched, url: str, ready: str | None = None) -> list[str]:
    watched.page.goto(url)
    if ready:
        watched.page.wait_for_selector(ready, timeout=20_000)
    watched.page.wait_for_load_state("networkidle")
    return [f"{url}: {v}" for v in watched.violations()]


def test_main_pages_report_no_csp_violation(server: str, watched: Watched) -> None:  # noqa: F811
    page = watched.page
    found: list[str] = []
    found += _visit(watched, f"{server}/?period=month&date=2026-06-04", "article.card")
    found += _visit(watched, f"{server}/search?q=clustering", "article.card")
    found += _visit(watched, f"{server}/papers/{MATH_ID}", "math")
    found += _visit(watched, f"{server}/papers/{TEX_ID}", "section.abstract strong")
    found += _visit(watched, f"{server}/papers/{HOSTILE_ID}", "h1.title")
    found += _visit(watched, f"{server}/topics", "#topic-map[data-ready=true] .scatterlayer .point")
    page.mouse.move(0, 0)
    point = page.locator("#topic-map .scatterlayer .point").first.bounding_box()
    assert point is not None
    page.mouse.move(point["x"] + point["width"] / 2, point["y"] + point["height"] / 2)
    page.wait_for_selector("#topic-map .hovertext")  # plotly's hover label, with its styles
    found += [f"topics hover: {v}" for v in watched.violations()]
    # Maps of more than a few thousand papers are drawn with WebGL (static/topics.js): plotly's GL code must
    # keep to the same policy (no eval).
    drawn = page.evaluate("""() => { const box = document.createElement("div"); box.id = "gl-map";
        box.style.width = "400px"; box.style.height = "300px"; document.querySelector("main").appendChild(box);
        const x = Array.from({length: 6000}, (_, i) => Math.sin(i)), y = x.map((v, i) => Math.cos(i * 1.3));
        return Plotly.newPlot(box, [{type: "scattergl", mode: "markers", x: x, y: y}]).then(() => "drawn"); }""")
    assert drawn == "drawn" and page.locator("#gl-map canvas").count() > 0
    found += [f"topics WebGL: {v}" for v in watched.violations()]
    found += _visit(watched, f"{server}/topics/1", "#topic-map[data-ready=true] .scatterlayer .point")
    found += _visit(watched, f"{server}/docs", ".opblock")
    page.locator(".opblock-summary").first.click()  # expanding an operation renders more of Swagger UI
    page.wait_for_selector(".opblock-body")
    found += [f"docs expanded: {v}" for v in watched.violations()]
    found += _visit(watched, f"{server}/signup", "form[action='/signup']")
    page.fill("input[name=email]", "csp@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_url(f"{server}/signin?next=/")  # sign-up signs nobody in (decision 0064): sign in now
    found += [f"signed up: {v}" for v in watched.violations()]
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{server}/")
    found += [f"signed in: {v}" for v in watched.violations()]
    page.click("a.theme-toggle")  # app.js: the theme changes without a reload
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    found += _visit(watched, f"{server}/me", "#collections")
    page.fill("form[action='/me/tokens'] input[name=name]", "csp")
    page.click("form[action='/me/tokens'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    found += [f"token created: {v}" for v in watched.violations()]
    found += _visit(watched, f"{server}/admin", "section#log")  # the first user is the admin
    found += _visit(watched, f"{server}/papers/{MATH_ID}", "section#moderation")  # an admin's moderation form
    found += _visit(watched, f"{server}/for-you", "main")
    found += _visit(watched, f"{server}/notifications", "main h1")
    found += _visit(watched, f"{server}/trending?period=month&date=2026-06-04&order=discussed", "#trending-order")
    found += _visit(watched, f"{server}/papers/{MATH_ID}", "#follow-discussion")
    page.click("#follow-discussion")  # one click follows the discussion
    page.wait_for_selector("#follow-discussion[aria-pressed=true]")
    found += [f"discussion followed: {v}" for v in watched.violations()]
    found += _visit(watched, f"{server}/submit", "form[action='/submit']")
    found += _visit(watched, f"{server}/signin", "form[action='/signin']")
    found += _visit(watched, f"{server}/unsubscribe?token=damaged", "h1")  # the digest e-mails' link
    assert found == []


def test_the_policy_is_enforced_and_its_violations_seen(server: str, watched: Watched) -> None:  # noqa: F811
    """The check above could not pass by missing violations: an injected inline script is refused and reported."""
    assert _visit(watched, f"{server}/search?q=clustering", "article.card") == []
    watched.page.evaluate("""() => { const s = document.createElement("script");
                                      s.textContent = "window.__ran = true"; document.body.appendChild(s); }""")
    watched.page.wait_for_function("window.__violations.length > 0")
    assert watched.page.evaluate("window.__ran === undefined")
    assert any("script-src" in v for v in watched.violations())


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`paperscope serve` over an empty database with no network: its first background ingest fails."""
    folder = tmp_path_factory.mktemp("offline")
    port = _free_port()
    env = {**os.environ, "PAPERSCOPE_EMBEDDING_MODEL": "hashing", "PAPERSCOPE_BACKGROUND_JOBS": "true",
           "PAPERSCOPE_INGEST_SOURCES": "arxiv:cs.LG", "PAPERSCOPE_ARXIV_API_URL": "http://127.0.0.1:9/api/query",
           "PAPERSCOPE_HTTP_RETRIES": "0", "PAPERSCOPE_INDEX_DIR": str(folder / "index"),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")])),
           **own_search_env(folder)}  # beside the module's other server
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "--db", f"sqlite:///{folder / 'empty.db'}",
                                "serve", "--port", str(port), "--no-access-log"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/status", timeout=2).json().get("state") == "offline":
                    break
            except (httpx.HTTPError, ValueError):
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("paperscope serve did not go offline: " + (folder / "serve.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_the_no_network_notice_can_be_dismissed(offline_server: str, watched: Watched) -> None:
    page = watched.page
    assert _visit(watched, f"{offline_server}/", "#job-status") == []
    assert "No network" in page.locator("#job-status").inner_text()
    page.click("#job-status [data-dismiss]")  # shown by app.js, hidden without JavaScript
    assert page.locator("#job-status").count() == 0
    page.reload()
    assert page.locator("#job-status").count() == 0  # the server leaves the dismissed notice out
    assert _visit(watched, f"{offline_server}/search?q=graph", "main") == []
    assert page.locator("#job-status").count() == 0
