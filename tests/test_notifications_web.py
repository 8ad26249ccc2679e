"""Notifications, followed discussions, comment counts and "most discussed" in the web app and the JSON API: the
pages (signed in only, escaped, one user's own rows, CSRF on every form), the nav's unread count, the API's
documented answers, and the counts and order on listings. Comments are written straight into their table
(tests/notification_support.py)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from paperscope.config import Settings
from paperscope.discussion.notify import notify_about_comment
from paperscope.store import Store, open_store
from tests.notification_support import add_comment
from tests.web_support import MATH_ID, TEX_ID, api_token, client_fixture, csrf, sign_up, site_fixture  # noqa: F401

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)"> look, @{handle}'
DISCUSSED_DAY = "2026-06-04"  # the recorded HF daily papers' day
NOON = dt.datetime(2026, 6, 4, 12, tzinfo=dt.UTC)


@pytest.fixture
def store(site: Settings) -> Iterator[Store]:
    with open_store(site.database_url) as opened:
        yield opened


@pytest.fixture
def other(site: Settings) -> Iterator[TestClient]:
    """A second browser, with its own session."""
    from paperscope.web import create_app

    with TestClient(create_app(site)) as second:
        yield second


def _user_id(store: Store, email: str) -> int:
    user = store.accounts.get_user_by_email(email)
    assert user is not None
    return user.id


def _unread_badge(html: str) -> str | None:
    found = re.search(r'<span class="badge" id="unread-count"[^>]*>(\d+)</span>', html)
    return found.group(1) if found else None


def test_the_notifications_page_shows_ones_own_escaped_linked_and_counted(
        client: TestClient, other: TestClient, store: Store) -> None:
    sign_up(client, "nia@example.org")
    sign_up(other, "oto@example.org")
    nia, oto = _user_id(store, "nia@example.org"), _user_id(store, "oto@example.org")
    comment = add_comment(store, MATH_ID, oto, HOSTILE.format(handle="nia"))
    assert notify_about_comment(store, comment) == [nia]

    page = client.get("/notifications")
    assert page.status_code == 200 and _unread_badge(page.text) == "1"
    assert f'href="/papers/{MATH_ID}#comment-{comment}"' in page.text
    assert "@oto" in page.text and "mentioned you on" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and "<script>alert(1)" not in page.text
    assert "onerror=\"alert" not in page.text and "<img src=x" not in page.text
    assert _unread_badge(client.get("/").text) == "1"  # the nav counts on every page

    theirs = other.get("/notifications")
    assert "alert(1)" not in theirs.text and _unread_badge(theirs.text) is None  # nobody reads another's
    assert other.post("/notifications/read", data={"csrf_token": csrf(other, "/notifications")},
                      follow_redirects=False).status_code == 303
    assert store.notifications.unread_count(nia) == 1  # oto's "mark all read" marked oto's: none of nia's

    assert client.post("/notifications/read", data={}).status_code == 403  # CSRF
    assert store.notifications.unread_count(nia) == 1
    done = client.post("/notifications/read", data={"csrf_token": csrf(client, "/notifications")},
                       follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/notifications"
    after = client.get("/notifications")
    assert "Marked 1 notification read." in after.text and _unread_badge(after.text) is None
    assert f"#comment-{comment}" in after.text  # read ones stay listed

    anonymous = TestClient(client.app)
    answer = anonymous.get("/notifications", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")
    assert anonymous.post("/notifications/read", data={}).status_code == 403


def test_following_a_discussion_is_one_click_on_the_paper_page(client: TestClient, store: Store) -> None:
    anonymous = TestClient(client.app)
    assert "Sign in to follow the discussion" in anonymous.get(f"/papers/{TEX_ID}").text
    sign_up(client, "pia@example.org")
    pia = _user_id(store, "pia@example.org")
    page = client.get(f"/papers/{TEX_ID}").text
    assert f'action="/papers/{TEX_ID}/discussion/follow"' in page and "Follow the discussion" in page
    assert client.post(f"/papers/{TEX_ID}/discussion/follow", data={}).status_code == 403  # CSRF
    assert pia not in store.notifications.followers(TEX_ID)
    followed = client.post(f"/papers/{TEX_ID}/discussion/follow", data={"csrf_token": csrf(client, "/me")},
                           follow_redirects=False)
    assert followed.status_code == 303 and followed.headers["location"] == f"/papers/{TEX_ID}#discussion-follow"
    assert pia in store.notifications.followers(TEX_ID)
    page = client.get(f"/papers/{TEX_ID}").text
    assert f'action="/papers/{TEX_ID}/discussion/unfollow"' in page and "Unfollow the discussion" in page
    notify_about_comment(store, add_comment(store, TEX_ID, None, "A comment by an account since deleted."))
    [news] = store.notifications.list_for(pia)
    assert news.kind == "discussion" and "A deleted account" in client.get("/notifications").text
    assert client.post(f"/papers/{TEX_ID}/discussion/unfollow", data={"csrf_token": csrf(client, "/me")},
                       follow_redirects=False).status_code == 303
    assert pia not in store.notifications.followers(TEX_ID)
    assert client.post("/papers/2599.99999/discussion/follow",
                       data={"csrf_token": csrf(client, "/me")}).status_code == 404


def test_the_email_choice_is_set_on_the_account_page(client: TestClient, store: Store) -> None:
    sign_up(client, "quin@example.org")
    quin = _user_id(store, "quin@example.org")
    me = client.get("/me").text
    assert 'action="/me/notifications"' in me and '<option value="digest" selected>' in me and "@quin" in me
    assert client.post("/me/notifications", data={"notify_email": "immediate"}).status_code == 403  # CSRF
    saved = client.post("/me/notifications", data={"notify_email": "immediate", "csrf_token": csrf(client, "/me")},
                        follow_redirects=False)
    assert saved.status_code == 303 and store.notifications.email_choice(quin) == "immediate"
    assert '<option value="immediate" selected>' in client.get("/me").text
    refused = client.post("/me/notifications", data={"notify_email": "hourly", "csrf_token": csrf(client, "/me")})
    assert refused.status_code == 400 and "notify_email" in refused.text and "off, digest, immediate" in refused.text
    assert store.notifications.email_choice(quin) == "immediate"


def test_listings_and_api_summaries_count_visible_comments(client: TestClient, store: Store) -> None:
    for body, hidden, deleted in (("one", False, False), ("two", False, False), ("x", True, False),
                                  ("y", False, True)):
        add_comment(store, MATH_ID, None, body, hidden=hidden, deleted=deleted)
    counted = store.comment_counts([MATH_ID])[MATH_ID]
    assert counted >= 2
    cited_by = client.get(f"/papers/{TEX_ID}").text  # MATH_ID cites TEX_ID: a card in "Cited by"
    card = cited_by.split(f'data-paper-id="{MATH_ID}"', 1)[1].split("</article>", 1)[0]
    assert f'href="/papers/{MATH_ID}#discussion">{counted} comments</a>' in card
    found = client.get("/search", params={"q": "bounds clustering", "mode": "keyword"}).text
    assert f'href="/papers/{MATH_ID}#discussion">{counted} comments</a>' in found
    assert client.get(f"/api/papers/{MATH_ID}").json()["comment_count"] == counted
    listed = client.get("/api/search", params={"q": "bounds clustering", "mode": "keyword"}).json()
    assert {i["paper"]["id"]: i["paper"]["comment_count"] for i in listed["items"]}[MATH_ID] == counted
    assert client.get(f"/api/papers/{TEX_ID}/citations").json()["items"][0]["comment_count"] == counted
    assert "comment_count" in client.get("/openapi.json").json()["components"]["schemas"]["PaperOut"]["properties"]


def test_most_discussed_is_a_trending_order_on_the_page_and_in_the_api(client: TestClient, store: Store) -> None:
    ranked = client.get("/api/trending", params={"period": "week", "date": DISCUSSED_DAY}).json()["items"]
    quiet, busy, busier = (item["paper"]["id"] for item in ranked[:3])  # by upvotes: quiet first
    for paper, count in ((busy, 2), (busier, 3), (quiet, 1)):
        for n in range(count):
            add_comment(store, paper, None, f"comment {n}", at=NOON + dt.timedelta(minutes=n))
    answer = client.get("/api/trending", params={"period": "day", "date": DISCUSSED_DAY, "order": "discussed"}).json()
    assert answer["order"] == "discussed" and answer["total"] == 3
    assert [(i["paper"]["id"], i["score"], i["paper"]["comment_count"]) for i in answer["items"]] == [
        (busier, 3.0, 3), (busy, 2.0, 2), (quiet, 1.0, 1)]
    assert client.get("/api/trending", params={"period": "day", "date": DISCUSSED_DAY}).json()["order"] == "upvotes"

    for path in ("/", "/trending"):
        html = client.get(path, params={"period": "day", "date": DISCUSSED_DAY, "order": "discussed"}
                          ).text.replace("&amp;", "&")
        assert "Most discussed" in html and "3 papers discussed" in html
        positions = [html.index(f'data-paper-id="{pid}"') for pid in (busier, busy, quiet)]
        assert positions == sorted(positions)
        assert f'href="/?period=week&date={DISCUSSED_DAY}&order=discussed"' in html  # the order is kept
    upvoted = client.get("/", params={"period": "day", "date": DISCUSSED_DAY}).text.replace("&amp;", "&")
    assert f'href="/?period=day&date={DISCUSSED_DAY}&order=discussed" id="most-discussed"' in upvoted
    assert client.get("/trending", params={"order": "loudest"}).status_code == 400
    refused = client.get("/api/trending", params={"order": "loudest"})
    assert refused.status_code == 400
    assert "order must be one of upvotes, discussed" in refused.json()["error"]["message"]


def test_the_api_reads_and_marks_only_the_callers_notifications(client: TestClient, other: TestClient,
                                                                store: Store) -> None:
    sign_up(client, "rae@example.org")
    sign_up(other, "sol@example.org")
    rae, sol = _user_id(store, "rae@example.org"), _user_id(store, "sol@example.org")
    token = {"Authorization": f"Bearer {api_token(client)}"}
    first = add_comment(store, MATH_ID, sol, "@rae what do you think?")
    notify_about_comment(store, first)
    reply = add_comment(store, MATH_ID, rae, "@sol it holds", parent_id=first)
    notify_about_comment(store, reply)
    mine = TestClient(client.app).get("/api/notifications", headers=token).json()
    assert mine["unread"] == 1 and mine["total"] == 1
    [item] = mine["items"]
    assert item["kind"] == "mention" and item["author"] == {"handle": "sol", "display_name": None}
    assert item["url"] == f"/papers/{MATH_ID}#comment-{first}" and item["excerpt"] == "@rae what do you think?"
    sols = store.notifications.list_for(sol)
    assert [n.kind for n in sols] == ["mention"]  # sol: named in the reply, which also follows rae's comment
    api = TestClient(client.app)
    marked = api.post("/api/notifications/read", json={"ids": [sols[0].id]}, headers=token).json()
    assert marked == {"marked": 0, "unread": 1} and store.notifications.unread_count(sol) == 1
    assert api.post("/api/notifications/read", json={"ids": [item["id"]]}, headers=token).json() == {
        "marked": 1, "unread": 0}
    assert api.post("/api/notifications/read", headers=token).json() == {"marked": 0, "unread": 0}
    assert api.get("/api/notifications").status_code == 401
    assert client.post("/api/notifications/read", json={}).status_code == 403  # a cookie session without CSRF
    assert api.post("/api/notifications/read", json={"ids": ["1"]}, headers=token).status_code == 422

    followed = api.put(f"/api/papers/{TEX_ID}/discussion/follow", headers=token)
    assert followed.json() == {"paper_id": TEX_ID, "following": True} and rae in store.notifications.followers(TEX_ID)
    assert api.delete(f"/api/papers/{TEX_ID}/discussion/follow", headers=token).json()["following"] is False
    assert api.put("/api/papers/2599.99999/discussion/follow", headers=token).status_code == 404
    assert api.put("/api/notifications/email", json={"notify_email": "off"}, headers=token).json() == {
        "notify_email": "off"}
    assert store.notifications.email_choice(rae) == "off"
    assert api.put("/api/notifications/email", json={"notify_email": "hourly"}, headers=token).status_code == 422
