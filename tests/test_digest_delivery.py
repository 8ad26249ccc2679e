"""Delivery over a real SMTP server: a crash mid-batch, refused connections, 4xx and 5xx replies.

Each test runs on SQLite and on PostgreSQL (the `database_url` fixture)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

import pytest

from paperscope.config import Settings
from paperscope.digest import deliver_outbox, send_digests
from paperscope.errors import ConfigError
from paperscope.ingest.pipeline import Ingester
from paperscope.store import Store, open_store
from tests.conftest import FIXTURES, REPO
from tests.test_digest_support import free_port, password_check, smtp_server

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

USERS = ["ada@example.org", "bob@example.org", "cy@example.org", "di@example.org"]


def settings_for(database_url: str, port: int, **changes: object) -> Settings:
    values: dict[str, object] = dict(database_url=database_url, embedding_model="hashing",
                                     smtp_host="127.0.0.1", smtp_port=port,
                                     secret_key="delivery-test-secret-of-at-least-32-characters",
                                     smtp_backoff_seconds=0.01, smtp_timeout_seconds=10, smtp_retries=2)
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def populate(store: Store, settings: Settings, emails: list[str]) -> None:
    Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
    for n, address in enumerate(emails):
        user = store.accounts.create_user(address)
        store.accounts.set_library_state(user.id, [f"2601.{n + 1:05d}"], "saved")
        store.digests.subscribe(user.id)


def states(store: Store) -> dict[str, tuple[str, int]]:
    return {m.recipient: (m.state, m.attempts) for m in store.digests.outbox_messages()}


def test_a_crash_mid_batch_and_a_restart_deliver_one_digest_per_user(database_url: str) -> None:
    with smtp_server() as (inbox, port):
        settings = settings_for(database_url, port)
        with open_store(settings.database_url) as store:
            populate(store, settings, USERS)
        env = {**os.environ, "PAPERSCOPE_DATABASE_URL": settings.database_url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
               "PAPERSCOPE_SMTP_HOST": "127.0.0.1", "PAPERSCOPE_SMTP_PORT": str(port),
               "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
        command = [sys.executable, "-m", "paperscope", "digest", "send"]
        inbox.stall_after = 2  # accept two messages, then hold the third without an answer
        sender = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            inbox.wait_for_data_calls(3)
        finally:
            sender.send_signal(signal.SIGKILL)
            sender.wait(timeout=30)
        assert sender.returncode == -signal.SIGKILL
        with open_store(settings.database_url) as store:
            before = states(store)
        assert sorted(state for state, _ in before.values()) == ["pending", "sending", "sent", "sent"]
        assert len(inbox.messages) == 2

        inbox.stall_after = None
        inbox.released.set()
        restart = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert restart.returncode == 0, restart.stderr
        assert "sent 2, to retry later 0, failed 0" in restart.stdout
        assert sorted(m["To"] for m in inbox.messages) == sorted(USERS)  # exactly one each
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert "sent 0," in again.stdout and len(inbox.messages) == len(USERS)
        with open_store(settings.database_url) as store:
            assert {state for state, _ in states(store).values()} == {"sent"}


def test_a_refused_connection_is_retried_with_backoff_then_left_pending(database_url: str) -> None:
    closed_port = free_port()  # nothing listens there
    settings = settings_for(database_url, closed_port)
    waits: list[float] = []
    with open_store(settings.database_url) as store:
        populate(store, settings, USERS[:2])
        report = send_digests(store, settings, sleep=waits.append)
        assert waits == [0.01, 0.02]  # two retries, the delay doubling
        assert len(report.delivery.retry_later) == 1 and report.delivery.stopped is not None
        assert "cannot reach the SMTP server" in report.delivery.errors[0]
        first, second = store.digests.outbox_messages()
        assert (first.state, first.attempts) == ("pending", 3) and "ConnectionRefusedError" in (first.last_error or "")
        assert (second.state, second.attempts) == ("pending", 0)  # the run stopped: untouched
        assert store.digests.sent_paper_ids(first.user_id)  # still reserved for this message
        with smtp_server() as (inbox, port):
            later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
            done = deliver_outbox(store, settings.model_copy(update={"smtp_port": port}), now=later)
        assert len(done.sent) == 2 and sorted(m["To"] for m in inbox.messages) == USERS[:2]


def test_a_4xx_reply_is_retried_in_the_same_run(database_url: str) -> None:
    with smtp_server() as (inbox, port):
        settings = settings_for(database_url, port)
        inbox.replies = ["451 4.3.0 try again later"]
        with open_store(settings.database_url) as store:
            populate(store, settings, USERS[:1])
            report = send_digests(store, settings, sleep=lambda _: None)
            [message] = store.digests.outbox_messages()
        assert report.delivery.sent == [message.id] and (message.state, message.attempts) == ("sent", 2)
        assert inbox.data_calls == 2 and len(inbox.messages) == 1


def test_a_4xx_that_persists_is_given_up_after_the_maximum_attempts(database_url: str) -> None:
    with smtp_server() as (inbox, port):
        settings = settings_for(database_url, port, smtp_retries=1, smtp_max_attempts=3)
        inbox.replies = ["452 4.2.2 mailbox full"] * 10
        with open_store(settings.database_url) as store:
            populate(store, settings, USERS[:1])
            first = send_digests(store, settings, sleep=lambda _: None)
            [message] = store.digests.outbox_messages()
            assert first.delivery.retry_later == [message.id] and first.delivery.stopped is None
            assert (message.state, message.attempts) == ("pending", 2) and "452" in (message.last_error or "")
            assert store.digests.deliverable(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)) == []  # backoff
            later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
            second = deliver_outbox(store, settings, now=later, sleep=lambda _: None)
            [message] = store.digests.outbox_messages()
            assert second.failed == [message.id] and (message.state, message.attempts) == ("failed", 3)
            assert store.digests.sent_paper_ids(message.user_id) == set()  # its papers may go in a later digest
        assert inbox.messages == []


@pytest.mark.parametrize("stage", ["data", "rcpt"])
def test_a_5xx_reply_fails_the_message_at_once(database_url: str, stage: str) -> None:
    with smtp_server() as (inbox, port):
        settings = settings_for(database_url, port)
        reply = "550 5.1.1 no such mailbox"
        if stage == "data":
            inbox.replies = [reply]
        else:
            inbox.rcpt_replies = [reply]
        with open_store(settings.database_url) as store:
            populate(store, settings, USERS[:2])
            report = send_digests(store, settings, sleep=lambda _: None)
            failed, delivered = store.digests.outbox_messages()
        assert report.delivery.failed == [failed.id] and report.delivery.sent == [delivered.id]
        assert (failed.state, failed.attempts) == ("failed", 1) and "550" in (failed.last_error or "")
        assert [m["To"] for m in inbox.messages] == [delivered.recipient]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # loopback only
def test_credentials_are_used_and_a_refusal_stops_the_run_with_the_settings_to_fix(database_url: str) -> None:
    with smtp_server(authenticator=password_check("digest", "right password")) as (inbox, port):
        settings = settings_for(database_url, port, smtp_user="digest", smtp_password="wrong password")
        with open_store(settings.database_url) as store:
            populate(store, settings, USERS[:1])
            with pytest.raises(ConfigError, match="PAPERSCOPE_SMTP_USER and PAPERSCOPE_SMTP_PASSWORD"):
                send_digests(store, settings, sleep=lambda _: None)
            [message] = store.digests.outbox_messages()
            assert message.state == "pending" and "refused the credentials" in (message.last_error or "")
            good = settings.model_copy(update={"smtp_password": "right password"})
            assert len(deliver_outbox(store, good).sent) == 1
        assert [m["To"] for m in inbox.messages] == USERS[:1]
