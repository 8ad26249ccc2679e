"""In a real browser: a reader comments on a paper, another replies with math and a mention, the first sees the
reply in their notifications (the nav counts it) and follows it to the reply, edits their comment (marked
"edited") and deletes it ("[deleted]" stays above the reply), all through forms that open in <details> without
any script, and with no Content-Security-Policy violation on the way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_browser import _shot, browser, server, sign_up  # noqa: F401 (fixtures)
from tests.e2e.test_csp import Watched, watched  # noqa: F401 (fixtures)
from tests.web_support import TEX_ID

pytestmark = [pytest.mark.e2e, pytest.mark.search_backend]




def test_comment_reply_with_math_and_a_mention_edit_and_delete(server: str, browser: Any,  # noqa: F811
                                                                watched: Watched) -> None:  # noqa: F811
    asker: Any = watched.page
    sign_up(asker, server, "asker@example.org")
    asker.goto(f"{server}/papers/{TEX_ID}")
    asker.fill("#comment-form textarea[name=body]", "Is the **cut** in arXiv:2599.00002 exact?")
    asker.click("#post-comment")
    asker.wait_for_url(f"**/papers/{TEX_ID}#comment-*")
    question = asker.locator("article.comment").first
    question_id = question.get_attribute("data-comment-id")
    assert question.locator(".comment-body strong").inner_text() == "cut"
    assert question.locator("a.paper-ref").get_attribute("href") == "/papers/2599.00002"

    # Another reader replies with math and a mention, through the reply form inside <details>.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    replier = Watched(context)
    answerer: Any = replier.page
    sign_up(answerer, server, "answerer@example.org")
    answerer.goto(f"{server}/papers/{TEX_ID}")
    form = answerer.locator(f"#reply-{question_id}")
    assert not form.is_visible()  # closed until its summary is clicked
    answerer.click(f"#comment-{question_id} details.reply summary")
    form.locator("textarea[name=body]").fill("Yes, @asker: the bound is $x^2 \\le n$.")
    form.locator("button[type=submit]").click()
    answerer.wait_for_url(f"**/papers/{TEX_ID}#comment-*")
    reply = answerer.locator("article.comment.depth-1")
    assert reply.count() == 1 and reply.locator(".comment-body math").count() == 1
    assert reply.locator(".mention").inner_text() == "@asker"
    reply_id = reply.get_attribute("data-comment-id")
    assert replier.violations() == []
    context.close()

    # The mentioned asker sees the notification: counted in the nav, listed, and linked to the reply.
    asker.goto(f"{server}/")
    assert asker.locator("#unread-count").inner_text() == "1"
    asker.click("#notifications-link")
    asker.wait_for_url(f"{server}/notifications")
    notice = asker.locator("article.notification.unread")
    assert notice.count() == 1 and "mentioned you" in notice.inner_text() and "@asker" in notice.inner_text()
    _shot(asker, "19-notification")
    notice.locator("a").click()
    asker.wait_for_url(f"**/papers/{TEX_ID}#comment-{reply_id}")
    asker.goto(f"{server}/notifications")
    asker.click("#mark-all-read button")
    asker.wait_for_url(f"{server}/notifications")
    assert asker.locator("article.notification.unread").count() == 0 and asker.locator("#unread-count").count() == 0

    # The asker edits the question: marked "edited"; then deletes it: "[deleted]" stays above the reply.
    asker.goto(f"{server}/papers/{TEX_ID}")
    asker.click(f"#comment-{question_id} details.edit summary")
    asker.fill(f"#edit-{question_id} textarea[name=body]", "Is the **cut** exact for every graph?")
    asker.click(f"#edit-{question_id} button[type=submit]")
    asker.wait_for_url(f"**/papers/{TEX_ID}#comment-{question_id}")
    question = asker.locator(f"#comment-{question_id}")
    assert "every graph" in question.locator(".comment-body").inner_text()
    assert question.locator(".edited").inner_text() == "edited"
    _shot(asker, "17-discussion")
    asker.click(f"#delete-{question_id} button")
    asker.wait_for_url(f"**/papers/{TEX_ID}#comment-{question_id}")
    question = asker.locator(f"#comment-{question_id}")
    assert "[deleted]" in question.inner_text() and question.locator(".comment-body").count() == 0
    assert question.locator(".edited").count() == 0 and "every graph" not in asker.content()
    kept = asker.locator("article.comment.depth-1")
    assert kept.count() == 1 and kept.locator("math").count() == 1
    _shot(asker, "18-discussion-deleted")
    assert watched.violations() == []
