"""In a real browser: a reader writes a private note with Markdown and math on a paper's page, marks the paper
"reading", and finds the note again from the library page's search, with no Content-Security-Policy violation
on the way (the note's HTML is rendered on the server: no inline script or style)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser import _shot, browser, server, sign_up  # noqa: F401 (fixtures)
from tests.e2e.test_csp import Watched, watched  # noqa: F401 (fixtures)
from tests.web_support import MATH_ID

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]


def test_a_note_is_saved_and_found_from_the_library_page(server: str, watched: Watched) -> None:  # noqa: F811
    page: Any = watched.page
    sign_up(page, server, "note-taker@example.org")

    page.goto(f"{server}/papers/{MATH_ID}")
    page.fill("#note-form textarea[name=body]",
              "Check the **Cauchy–Schwarz** step: is $\\sum_i x_i \\le \\sqrt{n}$ tight?\n\n<script>alert(1)</script>")
    page.click("#save-note")
    page.wait_for_url(f"**/papers/{MATH_ID}#note")
    note = page.locator("section.note .note-body")
    assert note.locator("strong").inner_text() == "Cauchy–Schwarz" and note.locator("math").count() == 1
    assert note.locator("script").count() == 0
    page.select_option("#reading-state select", value="reading")
    page.click("#reading-state button[type=submit]")
    page.wait_for_url(f"**/papers/{MATH_ID}")
    assert page.locator("#reading-state select").input_value() == "reading"
    _shot(page, "15-note-written")

    page.goto(f"{server}/me")
    page.fill("#notes input[name=q]", "cauchy")
    page.click("#search-notes")
    page.wait_for_url("**/me?q=cauchy")
    found = page.locator("#notes article.found-note")
    assert found.count() == 1 and found.locator(".note-body math").count() == 1
    _shot(page, "16-note-found")
    found.locator("h3 a").click()
    page.wait_for_url(f"**/papers/{MATH_ID}#note")
    assert "Cauchy" in page.locator("#note-form textarea").input_value()

    page.goto(f"{server}/me?reading=reading")
    assert page.locator(f"#library article.card[data-paper-id='{MATH_ID}']").count() == 1
    page.goto(f"{server}/me?reading=read")
    assert page.locator("#library article.card").count() == 0
    assert watched.violations() == []
