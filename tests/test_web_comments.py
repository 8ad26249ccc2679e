"""Comments on the paper page and in the JSON API, under the security rules: CSRF on every form, hostile Markdown,
HTML and javascript: links escaped, the text limit, nobody edits or deletes another user's comment, blocked
accounts refused, posting rate-limited (harder for new accounts); a deleted account's comments stay."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.limits import COMMENT
from paperscope.store import open_store
from paperscope.store.schema import comments, users
from tests.web_support import HOSTILE_ID, MATH_ID, TEX_ID, api_token, client_fixture, csrf, sign_up, site_fixture  # noqa: F401

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

HOSTILE = ('Read **this** with $x^2$ and 2599.00003.\n\n<script>alert(1)</script><img src=x onerror="alert(2)">\n\n'
           '<a href="javascript:alert(3)" onclick="alert(4)">click</a> [md](javascript:alert(5)) '
           '<iframe src="https://evil.example"></iframe><b onmouseover="alert(6)">bold</b> <style>p{}</style>')


@pytest.fixture(autouse=True)
def _an_admin_first(site: Settings) -> None:
    """The first account is the site's admin: make it one nobody here signs in as, so readers are no admins."""
    with open_store(site.database_url) as store:
        if store.accounts.get_user_by_email("first-admin@example.org") is None:
            assert not store.accounts.list_users()
            store.accounts.create_user("first-admin@example.org", password_hash=None)


def _post(client: TestClient, paper_id: str, body: str, parent_id: int | None = None) -> int:
    """Post a comment through the page's form; its id."""
    form = {"body": body, "csrf_token": csrf(client, f"/papers/{paper_id}")}
    if parent_id is not None:
        form["parent_id"] = str(parent_id)
    response = client.post(f"/papers/{paper_id}/comments", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    found = re.fullmatch(rf"/papers/{re.escape(paper_id)}#comment-(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def _discussion(client: TestClient, paper_id: str) -> str:
    page = client.get(f"/papers/{paper_id}").text
    return page[page.index('<section class="discussion"'):page.index('<section class="bibtex"')]


def _database(site: Settings) -> sa.Engine:
    return sa.create_engine(site.database_url)


def test_comment_reply_edit_and_delete_on_the_paper_page(client: TestClient) -> None:
    sign_up(client, "page_commenter@example.org")
    first = _post(client, TEX_ID, "A question about $\\sum_i x_i$ in arXiv:2599.00002, @page_replier?")
    replier = TestClient(client.app)
    sign_up(replier, "page_replier@example.org")
    reply = _post(replier, TEX_ID, "An answer with $x^2$, @page_commenter.", parent_id=first)
    shown = _discussion(client, TEX_ID)
    assert f'id="comment-{first}"' in shown and f'id="comment-{reply}"' in shown
    assert shown.index(f'id="comment-{first}"') < shown.index(f'id="comment-{reply}"')
    assert 'class="comment depth-1' in shown and "<math" in shown
    assert '<a class="paper-ref" href="/papers/2599.00002">arXiv:2599.00002</a>' in shown
    assert '<span class="mention">@page_replier</span>' in shown
    # Edit and delete forms only on one's own comment; reply and report forms on the other's.
    assert f'action="/comments/{first}/edit"' in shown and f'action="/comments/{reply}/edit"' not in shown
    assert f'action="/comments/{reply}/report"' in shown and f'action="/comments/{first}/report"' not in shown
    assert "/hide" not in shown  # no admin here

    edited = client.post(f"/comments/{first}/edit", data={"body": "A sharper question.",
                                                            "csrf_token": csrf(client, f"/papers/{TEX_ID}")},
                         follow_redirects=False)
    assert edited.status_code == 303 and edited.headers["location"] == f"/papers/{TEX_ID}#comment-{first}"
    shown = _discussion(client, TEX_ID)
    assert "A sharper question." in shown and 'class="edited"' in shown
    deleted = client.post(f"/comments/{first}/delete", data={"csrf_token": csrf(client, f"/papers/{TEX_ID}")},
                          follow_redirects=False)
    assert deleted.status_code == 303
    shown = _discussion(client, TEX_ID)
    assert "[deleted]" in shown and "A sharper question." not in shown and "An answer with" in shown


def test_every_comment_form_needs_the_csrf_token_and_a_signed_in_user(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    asked = anonymous.post(f"/papers/{MATH_ID}/comments", follow_redirects=False,
                           data={"body": "Hi", "csrf_token": csrf(anonymous, "/signin")})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/signin")
    assert "Sign in</a> to join the discussion" in _discussion(anonymous, MATH_ID)
    sign_up(client, "csrf-commenter@example.org")
    mine = _post(client, MATH_ID, "Mine.")
    for path, form in [(f"/papers/{MATH_ID}/comments", {"body": "Forged."}),
                       (f"/comments/{mine}/edit", {"body": "Forged."}), (f"/comments/{mine}/delete", {})]:
        for token in (None, "not-the-token"):
            sent = {**form, **({"csrf_token": token} if token else {})}
            response = client.post(path, data=sent, follow_redirects=False)
            assert response.status_code == 403 and "CSRF" in response.text, path
    shown = _discussion(client, MATH_ID)
    assert "Forged." not in shown and "Mine." in shown


def test_nobody_edits_or_deletes_another_users_comment(client: TestClient) -> None:
    sign_up(client, "owner@example.org")
    mine = _post(client, MATH_ID, "The owner's words.")
    other = TestClient(client.app)
    sign_up(other, "intruder@example.org")
    token = csrf(other, f"/papers/{MATH_ID}")
    for path, form in [(f"/comments/{mine}/edit", {"body": "Intruded.", "csrf_token": token}),
                       (f"/comments/{mine}/delete", {"csrf_token": token})]:
        response = other.post(path, data=form, follow_redirects=False)
        assert response.status_code == 403 and "is not yours" in response.text
    bearer = {"Authorization": f"Bearer {api_token(other, 'intruder')}"}
    assert other.patch(f"/api/comments/{mine}", json={"body": "Intruded."}, headers=bearer).status_code == 403
    refused = other.delete(f"/api/comments/{mine}", headers=bearer)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert other.get(f"/api/comments/{mine}").json()["body"] == "The owner's words."
    assert client.post("/comments/999999/delete", data={"csrf_token": token}, follow_redirects=False
                       ).status_code in (403, 404)  # the other session's token; either way nothing happens


def test_hostile_markdown_and_names_are_escaped_on_the_page_and_in_the_api(client: TestClient) -> None:
    sign_up(client, "hostile@example.org")
    client.post("/me/settings", data={"display_name": '<script>alert("name")</script>', "timezone": "UTC",
                                      "csrf_token": csrf(client, "/me")})
    comment = _post(client, HOSTILE_ID, HOSTILE)
    shown = _discussion(client, HOSTILE_ID)
    body = shown[shown.index('<div class="comment-body">'):shown.index('<div class="comment-actions')]
    for gone in ("<script", "onerror", "onclick", "onmouseover", 'href="javascript', "<iframe", "<img", "<style"):
        assert gone not in body, gone
    assert "<strong>this</strong>" in body and "<b>bold</b>" in body and "<math" in body
    assert '<a class="paper-ref" href="/papers/2599.00003">' not in body  # no month 99: a number, not an id
    # The edit form holds the text as written, escaped; the author's name is escaped too.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script" not in shown
    assert "&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt; <span class=\"handle\">@hostile</span>" in shown
    api = TestClient(client.app).get(f"/api/comments/{comment}").json()
    assert api["body"] == HOSTILE and "<script" not in api["body_html"] and "onerror" not in api["body_html"]
    assert api["author"]["handle"] == "hostile"


def test_the_comment_limit_holds_in_forms_and_the_api(client: TestClient) -> None:
    sign_up(client, "limits@example.org")
    token = csrf(client, f"/papers/{MATH_ID}")
    assert f'maxlength="{COMMENT.max_length}"' in client.get(f"/papers/{MATH_ID}").text
    bearer = {"Authorization": f"Bearer {api_token(client, 'limits')}"}
    for body, message in [("x" * (COMMENT.max_length + 1), "at most 10,000 characters"),
                          ("   ", "must not be empty"), ("bell \x07", "control characters")]:
        form = client.post(f"/papers/{MATH_ID}/comments", data={"body": body, "csrf_token": token},
                           follow_redirects=False)
        assert form.status_code == 422 and "The comment (body)" in form.text and message in form.text
        api = client.post(f"/api/papers/{MATH_ID}/comments", json={"body": body}, headers=bearer)
        assert api.status_code == 422 and message in api.json()["error"]["message"]
    bad_parent = client.post(f"/papers/{MATH_ID}/comments", data={"body": "Hi", "parent_id": "one",
                                                                   "csrf_token": token}, follow_redirects=False)
    assert bad_parent.status_code == 400 and "parent_id must be a whole number" in bad_parent.text


def test_the_comment_api_reads_posts_replies_edits_and_deletes(client: TestClient, site: Settings) -> None:
    sign_up(client, "api-commenter@example.org")
    bearer = {"Authorization": f"Bearer {api_token(client, 'comments')}"}
    posted = client.post(f"/api/papers/{TEX_ID}/comments", json={"body": "Via the API: $x^2$."}, headers=bearer)
    assert posted.status_code == 201, posted.text
    first = posted.json()
    assert first["author"] == {"handle": "apicommenter", "display_name": None}
    assert "<math" in first["body_html"] and first["parent_id"] is None and not first["deleted"]
    reply = client.post(f"/api/papers/{TEX_ID}/comments", json={"body": "A reply.", "parent_id": first["id"]},
                        headers=bearer).json()
    assert reply["parent_id"] == first["id"]
    elsewhere = client.post(f"/api/papers/{MATH_ID}/comments", json={"body": "Wrong paper.",
                                                                       "parent_id": first["id"]}, headers=bearer)
    assert elsewhere.status_code == 400 and "on another paper" in elsewhere.json()["error"]["message"]
    cookie_only = client.post(f"/api/papers/{TEX_ID}/comments", json={"body": "No CSRF header."})
    assert cookie_only.status_code == 403
    anonymous = TestClient(client.app)
    assert anonymous.post(f"/api/papers/{TEX_ID}/comments", json={"body": "Who?"}).status_code == 401
    thread = anonymous.get(f"/api/papers/{TEX_ID}/comments").json()
    ids = [c["id"] for c in thread]
    assert ids.index(first["id"]) + 1 == ids.index(reply["id"])
    patched = client.patch(f"/api/comments/{first['id']}", json={"body": "Edited via the API."}, headers=bearer)
    assert patched.status_code == 200 and patched.json()["edited_at"] is not None
    assert client.delete(f"/api/comments/{first['id']}", headers=bearer).status_code == 204
    gone = anonymous.get(f"/api/comments/{first['id']}").json()
    assert gone["deleted"] and gone["body"] == "" and gone["author"] is None
    assert anonymous.get("/api/comments/999999").status_code == 404
    assert anonymous.get("/api/papers/2599.99999/comments").status_code == 404
    # A comment hidden by a moderator: 404 to readers, whole (and marked) for an admin.
    with _database(site).begin() as conn:
        conn.execute(comments.update().where(comments.c.id == reply["id"]).values(hidden_at=dt.datetime.now(dt.UTC)))
        conn.execute(users.update().where(users.c.email == "api-commenter@example.org").values(is_admin=True))
    assert anonymous.get(f"/api/comments/{reply['id']}").status_code == 404
    seen = client.get(f"/api/comments/{reply['id']}", headers=bearer).json()
    assert seen["hidden"] and seen["body"] == "A reply."
    assert f'action="/comments/{reply["id"]}/unhide"' in _discussion(client, TEX_ID)


def test_a_blocked_account_is_refused_with_a_clear_message(client: TestClient, site: Settings) -> None:
    sign_up(client, "blocked@example.org")
    mine = _post(client, MATH_ID, "Said before the block.")
    bearer = {"Authorization": f"Bearer {api_token(client, 'blocked')}"}
    with _database(site).begin() as conn:
        conn.execute(users.update().where(users.c.email == "blocked@example.org").values(
            blocked_at=dt.datetime.now(dt.UTC)))
    form = client.post(f"/papers/{MATH_ID}/comments", data={"body": "After.", "csrf_token": csrf(client, "/me")},
                       follow_redirects=False)
    assert form.status_code == 403 and "blocked from posting" in form.text
    api = client.post(f"/api/papers/{MATH_ID}/comments", json={"body": "After."}, headers=bearer)
    assert api.status_code == 403 and "blocked from posting" in api.json()["error"]["message"]
    edit = client.patch(f"/api/comments/{mine}", json={"body": "Changed."}, headers=bearer)
    assert edit.status_code == 403
    shown = _discussion(client, MATH_ID)
    assert "blocked from posting" in shown and 'id="comment-form"' not in shown


@pytest.fixture
def strict_client(site: Settings) -> Iterator[TestClient]:
    """The same site with low comment limits: 2 an hour for new accounts, 3 for others."""
    from paperscope.web import create_app

    strict = site.model_copy(update={"comments_per_hour_new_account": 2, "comments_per_hour": 3})
    with TestClient(create_app(strict)) as test_client:
        yield test_client


def test_posting_is_rate_limited_and_harder_for_new_accounts(strict_client: TestClient, site: Settings) -> None:
    sign_up(strict_client, "newcomer@example.org")
    bearer = {"Authorization": f"Bearer {api_token(strict_client, 'newcomer')}"}
    statuses = [strict_client.post(f"/api/papers/{MATH_ID}/comments", json={"body": f"Post {n}"},
                                   headers=bearer).status_code for n in range(3)]
    assert statuses == [201, 201, 429]
    refused = strict_client.post(f"/api/papers/{MATH_ID}/comments", json={"body": "Again"}, headers=bearer)
    assert int(refused.headers["retry-after"]) > 0 and "younger than a day" in refused.json()["error"]["message"]
    form = strict_client.post(f"/papers/{MATH_ID}/comments", data={"body": "By form",
                                                                    "csrf_token": csrf(strict_client, "/me")},
                              follow_redirects=False)
    assert form.status_code == 429 and "retry-after" in form.headers
    # The same account, a week old, has the higher limit: one more post, then refused.
    with _database(site).begin() as conn:
        conn.execute(users.update().where(users.c.email == "newcomer@example.org").values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=7)))
    other = TestClient(strict_client.app)
    sign_up(other, "veteran@example.org")
    veteran_bearer = {"Authorization": f"Bearer {api_token(other, 'veteran')}"}
    with _database(site).begin() as conn:
        conn.execute(users.update().where(users.c.email == "veteran@example.org").values(
            created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=7)))
    assert [other.post(f"/api/papers/{MATH_ID}/comments", json={"body": f"Veteran {n}"},
                       headers=veteran_bearer).status_code for n in range(4)] == [201, 201, 201, 429]
    assert strict_client.post(f"/api/papers/{MATH_ID}/comments", json={"body": "Third"},
                              headers=bearer).status_code == 201


def test_a_deleted_accounts_comments_stay_under_deleted_account(client: TestClient, site: Settings) -> None:
    sign_up(client, "leaving@example.org")
    question = _post(client, TEX_ID, "A question from someone leaving.")
    staying = TestClient(client.app)
    sign_up(staying, "staying@example.org")
    answer = _post(staying, TEX_ID, "The answer stays.", parent_id=question)
    with open_store(site.database_url) as store:
        store.accounts.delete_user(store.accounts.require_user("leaving@example.org").id)
    shown = _discussion(staying, TEX_ID)
    block = shown[shown.index(f'id="comment-{question}"'):shown.index(f'id="comment-{answer}"')]
    assert "[deleted account]" in block and "A question from someone leaving." in block
    assert "The answer stays." in shown
    assert TestClient(client.app).get(f"/api/comments/{question}").json()["author"] is None
