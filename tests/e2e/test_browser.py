"""End to end in a real browser: Debian's chromium, headless, driven by Playwright, against
`paperscope serve` started as a subprocess on a free loopback port over a store of real papers.

Screenshots of every page visited are saved in test-artifacts/ (gitignored)."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import REPO, release_search
from tests.web_support import MATH_ID, PASSWORD, TEX_ID, build_site

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]
playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does it)",
                allow_module_level=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`paperscope serve` as a real process over a store of real papers; yields its base URL."""
    folder = tmp_path_factory.mktemp("e2e")
    with serving(folder, build_site(folder).database_url) as base:
        yield base


@contextlib.contextmanager
def serving(folder: Path, database_url: str, *, model: str = "hashing", timeout: float = 60) -> Iterator[str]:
    """`paperscope serve` as a real process over the database, without background jobs, its log in `folder`;
    yields its base URL."""
    release_search()  # a Milvus Lite file this process indexed into is the server's to open now
    port = _free_port()
    env = {**os.environ, "PAPERSCOPE_EMBEDDING_MODEL": model, "PAPERSCOPE_BACKGROUND_JOBS": "false",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    log = (folder / "serve.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "paperscope", "--db", database_url, "serve",
                                "--port", str(port), "--no-access-log"], env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(f"{base}/api/status", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("paperscope serve did not start: " + (folder / "serve.log").read_text())
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def sign_up(page: Any, base: str, email: str) -> None:
    """Sign up with `email` and the test password, then sign in: the page ends on the home page."""
    page.goto(f"{base}/signup")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_url(f"{base}/signin?next=/")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{base}/")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=LAUNCH_ARGS)
        yield launched
        launched.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_reader_signs_up_searches_upvotes_collects_and_signs_out(server: str, browser: object) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/?period=month&date=2026-06-04")
    assert page.locator("article.card").count() >= 20  # the recorded HF daily papers of June 2026
    _shot(page, "01-trending")

    page.goto(f"{server}/signup")
    page.fill("input[name=email]", "reader@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signup'] button[type=submit]")
    page.wait_for_url(f"{server}/signin?next=/")  # sign-up signs nobody in (decision 0064): sign in now
    assert page.locator("input[name=email]").input_value() == "reader@example.org"
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/signin'] button[type=submit]")
    page.wait_for_url(f"{server}/")
    assert page.locator("header").get_by_text("reader@example.org").count() == 1
    _shot(page, "02-signed-up")

    page.fill("header input[name=q]", "robot manipulation")
    page.press("header input[name=q]", "Enter")
    page.wait_for_url("**/search?q=robot+manipulation")
    assert page.locator("article.card mark").count() > 0
    _shot(page, "03-search")

    page.locator("article.card h2.title a").first.click()
    page.wait_for_url("**/papers/**")
    vote = page.locator(".paper-head form[data-vote] button")
    before = int(vote.locator(".count").inner_text())
    vote.click()
    playwright_api.expect(vote).to_have_attribute("aria-pressed", "true")  # no string eval: the CSP forbids it
    assert int(vote.locator(".count").inner_text()) == before + 1
    page.reload()
    assert page.locator(".paper-head form[data-vote] button").get_attribute("aria-pressed") == "true"
    assert page.locator("section.similar article.card").count() > 0
    _shot(page, "04-paper-upvoted")

    page.fill("form[action$='/tags'] input[name=tag]", "robots")
    page.click("form[action$='/tags'] button[type=submit]")
    page.wait_for_selector("#paper-tags .tag:text-is('robots')")

    title = page.locator("h1.title").inner_text()
    page.select_option("#add-to-collection select", value="")
    page.fill("#add-to-collection input[name=new_name]", "Robots to read")
    page.click("#add-to-collection button[type=submit]")
    page.wait_for_url("**/collections/**")
    assert page.locator("h1").inner_text() == "Robots to read"
    assert page.locator("article.card h2.title").inner_text().endswith(title)
    _shot(page, "05-collection")

    page.goto(f"{server}/for-you")
    page.click("#tag-picker a:text-is('robots')")  # recommendations from the tag's papers alone
    page.wait_for_url("**/for-you?tag=robots")
    assert "robots" in page.locator("h1").inner_text()
    assert page.locator("article.card").count() > 0
    assert "among your papers tagged \u201crobots\u201d" in page.locator("p.why").first.inner_text()
    _shot(page, "05b-for-you-by-tag")

    page.goto(f"{server}/topics")
    page.wait_for_selector("#topic-map[data-ready=true] .scatterlayer .point")
    _shot(page, "06-topic-map")
    point = page.locator("#topic-map .scatterlayer .point").first
    box = point.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_selector("#topic-map .hovertext")  # hover shows the paper's title
    hovered = page.locator("#topic-map .hovertext").first.text_content() or ""
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url("**/papers/**")
    assert page.locator("h1.title").inner_text().split()[0] in hovered
    _shot(page, "07-paper-from-map")

    page.goto(f"{server}/me")
    assert page.locator("#collections").get_by_text("Robots to read").count() == 1
    _shot(page, "08-user-page")

    page.click("#sign-out")
    page.wait_for_url(f"{server}/")
    assert page.locator("header").get_by_text("Sign in").count() == 1
    assert page.locator("header").get_by_text("reader@example.org").count() == 0
    _shot(page, "09-signed-out")
    context.close()


def test_reading_works_without_javascript_on_a_phone_in_dark_mode(server: str, browser: object) -> None:
    context = browser.new_context(java_script_enabled=False, color_scheme="dark",  # type: ignore[attr-defined]
                                  viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(f"{server}/papers/2599.00002")
    assert page.locator("math").count() >= 2  # LaTeX rendered on the server, no script needed
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(22, 24, 27)"  # the dark theme follows prefers-color-scheme
    _shot(page, "10-phone-dark-no-js")
    # Without JavaScript the toggle is a link that sets a cookie and redirects back: automatic, light, dark.
    # The expectations retry, so each reads the page the redirect landed on, not one still loading.
    page.click("a.theme-toggle")
    playwright_api.expect(page.locator("html")).to_have_attribute("data-theme", "light")
    page.click("a.theme-toggle")
    playwright_api.expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    page.goto(f"{server}/search?q=clustering")
    assert page.locator("article.card").count() > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "11-phone-search")
    context.close()


def test_tex_markup_in_an_abstract_shows_as_bold_text_and_a_link(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/papers/{TEX_ID}")
    bold = page.locator("section.abstract strong")
    assert bold.inner_text() == "graph partitioning"
    assert int(bold.evaluate("e => getComputedStyle(e).fontWeight")) >= 600  # drawn bold, not just tagged
    abstract = page.locator("section.abstract").inner_text()
    assert "\\textbf" not in abstract and "20% faster" in abstract
    assert page.locator("section.abstract a").get_attribute("href") == "https://example.org/spectre"
    _shot(page, "13-tex-markup")
    context.close()


def test_api_docs_and_feeds_load_in_the_browser(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    assert page.locator(".opblock-summary-path", has_text="/api/papers").count() >= 1
    _shot(page, "12-api-docs")
    assert all(url.startswith(server) for url in requests)  # nothing from a CDN
    context.close()


def test_a_reader_follows_citations_and_an_author_between_pages(server: str, browser: object) -> None:
    context = browser.new_context()  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server}/papers/{MATH_ID}")
    references = page.locator("section.references")
    assert references.locator("> h2").inner_text() == "References held here (1)"
    assert page.locator("dl.record").get_by_text("7 (as its source counts)").count() == 1
    references.locator("article.card h2.title a").first.click()  # the cited paper's page lists the citing one
    page.wait_for_url(f"**/papers/{TEX_ID}")
    assert page.locator("section.citations article.card").count() == 1
    _shot(page, "13-cited-by")
    page.locator("section.citations article.card h2.title a").first.click()
    page.wait_for_url(f"**/papers/{MATH_ID}")
    page.locator("p.meta .authors a", has_text="Ada Lovelace").click()  # an author record: their page
    page.wait_for_url("**/authors/*")
    assert page.locator("h1").inner_text() == "Ada Lovelace"
    assert page.get_by_text("orcid:0000-0002-1825-0097").count() == 1
    assert page.locator("article.card").count() == 1
    _shot(page, "14-author")
    for route, expected in (("references", [TEX_ID]), ("citations", [])):  # the JSON routes, read by the browser
        page.goto(f"{server}/api/papers/{MATH_ID}/{route}")
        answer = json.loads(page.locator("body").inner_text())
        assert [item["id"] for item in answer["items"]] == expected and answer["total"] == len(expected)
    page.goto(f"{server}/papers/orcid:0000-0002-1825-0097")  # not a paper id: a clear 404 page
    assert "No paper" in page.locator("main").inner_text()
    context.close()
