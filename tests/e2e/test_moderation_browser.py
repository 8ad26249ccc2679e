"""In a real browser: the first account is the site's admin, a second is made admin with `paperscope users
admin`; a reader comments, the second admin hides the comment from its Hide button, and the comment disappears
for the reader and for anonymous visitors while admins still see it, marked hidden."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_browser import _shot, browser, serving, sign_up  # noqa: F401 (fixtures)
from tests.e2e.test_csp import Watched
from tests.web_support import MATH_ID, build_site

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """A served site of its own (so its first account is known); yields its base URL and database URL."""
    folder = tmp_path_factory.mktemp("e2e-moderation")
    settings = build_site(folder)
    with serving(folder, settings.database_url) as base:
        yield base, settings.database_url


def test_an_admin_hides_a_comment_and_it_disappears_for_everyone_else(site: tuple[str, str],
                                                                       browser: Any) -> None:  # noqa: F811
    base, database_url = site
    watchers: list[Watched] = []

    def visitor(email: str | None) -> Any:
        watcher = Watched(browser.new_context(viewport={"width": 1280, "height": 900}))
        watchers.append(watcher)
        if email:
            sign_up(watcher.page, base, email)
        return watcher.page

    owner = visitor("owner@example.org")  # the first account: admin
    assert owner.locator("nav a[href='/admin']").count() == 1
    moderator = visitor("moderator@example.org")
    assert moderator.locator("nav a[href='/admin']").count() == 0
    made = subprocess.run([sys.executable, "-m", "paperscope", "--db", database_url, "users", "admin",
                           "moderator@example.org"], capture_output=True, text=True, check=True)
    assert "moderator@example.org" in made.stdout

    reader = visitor("reader@example.org")
    reader.goto(f"{base}/papers/{MATH_ID}")
    reader.fill("#comment-form textarea[name=body]", "Buy cheap citations at spam.example")
    reader.click("#post-comment")
    reader.wait_for_url(f"**/papers/{MATH_ID}#comment-*")
    comment_id = reader.locator("article.comment").first.get_attribute("data-comment-id")
    assert reader.locator(f"#hide-{comment_id}").count() == 0  # readers get no Hide button

    moderator.goto(f"{base}/papers/{MATH_ID}")
    assert "cheap citations" in moderator.locator(f"#comment-{comment_id}").inner_text()
    moderator.click(f"#hide-{comment_id} button[type=submit]")
    moderator.wait_for_url(f"**/papers/{MATH_ID}*")
    assert moderator.locator(f"#unhide-{comment_id}").count() == 1
    _shot(moderator, "20-comment-hidden-admin")

    anonymous = visitor(None)
    for page in (reader, anonymous):
        page.goto(f"{base}/papers/{MATH_ID}")
        assert "cheap citations" not in page.content()
        assert page.locator(f"#comment-{comment_id}").count() == 0
    _shot(reader, "21-comment-hidden-reader")
    owner.goto(f"{base}/papers/{MATH_ID}")
    assert "cheap citations" in owner.locator(f"#comment-{comment_id}").inner_text()

    owner.goto(f"{base}/admin")
    assert "hide-comment" in owner.locator("#log").inner_text()
    for watcher in watchers:
        assert watcher.violations() == []
        watcher.page.context.close()
