"""Notifications by e-mail through a real SMTP server (aiosmtpd on loopback): the "Replies and mentions" section
of the digest for users who chose "digest", one message per notification through the outbox for "immediate"
(exactly once, also from the background jobs when no digest is due), nothing for "off"."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.digest import send_digests
from paperscope.discussion.notify import notify_about_comment
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from tests.conftest import FIXTURES
from tests.notification_support import add_comment
from tests.test_digest_support import Inbox, smtp_server

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

BASE_URL = "https://papers.example.org"
HOSTILE = '<b onmouseover="alert(1)">bold</b> and <script>alert(2)</script>, @{handle}'
TITLED = Paper(id="2601.09001", title="Bounds of order $O(n^2)$ <i>for</i> clustering", abstract="An abstract.",
               authors=["Ada Lovelace"], categories=["cs.LG"])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def _settings(tmp_path: Path, port: int) -> Settings:
    return Settings(database_url=str(tmp_path / "site.db"), embedding_model="hashing", smtp_host="127.0.0.1",
                    smtp_port=port, base_url=BASE_URL, secret_key="notify-test-secret-of-at-least-32-characters",
                    mail_from="digest@papers.example.org", smtp_backoff_seconds=0.01, smtp_timeout_seconds=10)


def _site(store: Store, settings: Settings) -> dict[str, int]:
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    store.upsert_papers([TITLED])
    who = {name: store.accounts.create_user(f"{name}@example.org").id for name in ("ada", "bob", "cy", "dee")}
    store.accounts.set_library_state(who["ada"], ["2601.00001"], "saved")
    store.accounts.set_library_state(who["dee"], ["2601.00007"], "saved")
    store.digests.subscribe(who["ada"])
    store.digests.subscribe(who["dee"])
    store.notifications.set_email_choice(who["cy"], "immediate")
    store.notifications.set_email_choice(who["dee"], "off")
    return who


def _mention(store: Store, author: int, *handles: str) -> int:
    comment = add_comment(store, TITLED.id, author, HOSTILE.format(handle=" @".join(handles)))
    notify_about_comment(store, comment)
    return comment


def test_the_digest_carries_replies_and_mentions_once_and_escaped(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = _settings(tmp_path, port)
    with open_store(settings.database_url) as store:
        who = _site(store, settings)
        comment = _mention(store, who["bob"], "ada", "dee")
        now = dt.datetime.now(dt.UTC)
        report = send_digests(store, settings, now=now)
        assert sorted(d.recipient for d in report.composed) == ["ada@example.org", "dee@example.org"]
        [ada_note] = store.notifications.list_for(who["ada"])
        assert ada_note.emailed_at is not None and ada_note.unread  # told by e-mail, still unread on the page
        assert store.notifications.list_for(who["dee"])[0].emailed_at is None  # "off": never e-mailed

        [message] = inbox.to("ada@example.org")
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        link = f"{BASE_URL}/papers/{TITLED.id}#comment-{comment}"
        assert "REPLIES AND MENTIONS" in text and "@bob mentioned you on" in text and link in text
        assert "Bounds of order O(n²) <i>for</i> clustering" in text  # TeX as text; the plain part is no HTML
        assert "Replies and mentions" in html and f'href="{link}"' in html
        assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html and "<script>" not in html
        assert "&lt;b onmouseover=" in html and "&lt;i&gt;for&lt;/i&gt;" in html
        assert " for you, 1 reply or mention (" in message["Subject"]
        [dees] = inbox.to("dee@example.org")
        assert "REPLIES AND MENTIONS" not in dees.get_body(("plain",)).get_content()  # type: ignore[union-attr]

        # The next day: no new papers, one new reply: a digest of the reply alone; the first is not told again.
        reply = add_comment(store, TITLED.id, who["bob"], "And one more thing.", parent_id=add_comment(
            store, TITLED.id, who["ada"], "My answer."))
        notify_about_comment(store, reply)
        send_digests(store, settings, now=now + dt.timedelta(days=1))
        second = inbox.to("ada@example.org")[1]
        assert second["Subject"].startswith("paperscope: 1 reply or mention")
        body = second.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert f"#comment-{reply}" in body and f"#comment-{comment}" not in body and "@bob replied to your" in body
        send_digests(store, settings, now=now + dt.timedelta(days=2))
        assert len(inbox.to("ada@example.org")) == 2  # nothing new: no third digest


def test_immediate_email_is_one_message_per_notification_sent_once(tmp_path: Path,
                                                                    smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    settings = _settings(tmp_path, port)
    with open_store(settings.database_url) as store:
        who = _site(store, settings)
        first = _mention(store, who["bob"], "cy")
        second = _mention(store, who["dee"], "cy")
        mine = _mention(store, who["cy"], "dee")  # cy's own comment tells cy nothing
        send_digests(store, settings)
        messages = inbox.to("cy@example.org")
        assert len(messages) == 2
        keys = {m.idempotency_key for m in store.digests.outbox_messages(user_id=who["cy"])}
        assert keys == {f"notify:{who['cy']}:{first}", f"notify:{who['cy']}:{second}"}
        text = messages[0].get_content()
        assert messages[0].get_content_type() == "text/plain" and "@bob mentioned you on" in messages[0]["Subject"]
        assert f"{BASE_URL}/papers/{TITLED.id}#comment-{first}" in text and "<script>alert(2)</script>" in text
        assert f"{BASE_URL}/me#notifications" in text
        assert all(n.emailed_at is not None for n in store.notifications.list_for(who["cy"]))
        assert not inbox.to("dee@example.org") or all(  # dee ("off") gets the digest, never a notification mail
            "mentioned you" not in m["Subject"] for m in inbox.to("dee@example.org"))
        assert f"#comment-{mine}" not in "".join(m.get_content() for m in messages)

        send_digests(store, settings, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
        assert len(inbox.to("cy@example.org")) == 2  # exactly once


def test_the_background_jobs_send_immediate_email_when_no_digest_is_due(tmp_path: Path,
                                                                      smtp: tuple[Inbox, int]) -> None:
    from paperscope.index.search import SearchEngine
    from paperscope.jobs import RETRY_DELIVERY_SECONDS, BackgroundJobs

    inbox, port = smtp
    settings = _settings(tmp_path, port)
    with open_store(settings.database_url) as store:
        who = _site(store, settings)
        store.digests.unsubscribe(who["ada"])
        store.digests.unsubscribe(who["dee"])
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings))
        assert jobs.send_due_digests() == 0  # nothing due, nothing queued: no SMTP connection at all
        comment = _mention(store, who["bob"], "cy", "ada")
        assert jobs.send_due_digests() == 1
        [message] = inbox.messages
        assert message["To"] == "cy@example.org" and f"#comment-{comment}" in message.get_content()
        assert jobs.send_due_digests() == 0 and len(inbox.messages) == 1

        # A temporary refusal leaves the message for a retry, paced like a cron job, not every few seconds.
        inbox.replies = ["451 4.3.0 busy"] * 4  # the attempt and its three retries within the run
        again = _mention(store, who["bob"], "cy")
        calls = inbox.data_calls
        assert jobs.send_due_digests() == 0 and inbox.data_calls == calls + 4
        assert jobs.send_due_digests() == 0 and inbox.data_calls == calls + 4  # not retried at once
        jobs._last_delivery -= RETRY_DELIVERY_SECONDS  # five minutes later (and past the message's backoff)
        time.sleep(0.2)
        assert jobs.send_due_digests() == 1 and f"#comment-{again}" in inbox.messages[-1].get_content()
