"""Webhook digests delivered through the outbox to a local HTTP receiver that records what it gets: one message per
slot, a worker killed mid-request without a duplicate, retries with backoff, a dead endpoint disabled, the
signed JSON payload, and the command line. Each test runs on SQLite and on PostgreSQL (`database_url`)."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from paperscope.config import Settings
from paperscope.digest import send_digests
from paperscope.digest.channels import send_test, send_webhook_digests
from paperscope.digest.schedule import current_slot
from paperscope.digest.webhooks import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    UNKNOWN_OUTCOME,
    deliver_webhooks,
    verify_signature,
)
from paperscope.errors import InputError
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.schema import webhooks as webhooks_table
from paperscope.store.webhooks import Webhook
from tests.conftest import FIXTURES, REPO
from tests.http_fixture_server import FixtureServer, Reply, Request
from tests.http_fixture_server import fixture_server as fixture_server  # noqa: F401 (registers it)
from tests.test_digest_support import free_port

HOSTILE = "<!channel> & <https://evil.example|click> @everyone *bold* [x](javascript:alert(1))"


def soon() -> dt.datetime:
    """A minute from now: the moment a test's run happens, after the papers it stores."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)

GRAPH = [f"2601.{n:05d}" for n in range(1, 7)]  # tests/fixtures/digest_papers.jsonl
SPEECH = [f"2601.{n:05d}" for n in range(7, 12)]
ROBOTS = [f"2601.{n:05d}" for n in range(12, 17)]


def settings_for(database_url: str, **changes: object) -> Settings:
    values: dict[str, object] = dict(database_url=database_url, embedding_model="hashing",
                                     base_url="https://papers.example.org", webhook_backoff_seconds=0.01,
                                     webhook_timeout_seconds=5, webhook_retries=2)
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


def trending_papers(store: Store, count: int = 3, title: str = "Paper") -> list[str]:
    """Papers stored now, each upvoted, so that a trending webhook carries them."""
    today = dt.datetime.now(dt.UTC).date()
    papers = [Paper(id=f"2612.{n + 1:05d}", title=f"{title} {n + 1}" if n else HOSTILE, abstract="An abstract.",
                    authors=["Ada Lovelace"], categories=["cs.LG"], published=today, upvotes=10 - n)
              for n in range(count)]
    store.upsert_papers(papers)
    return [p.id for p in papers]


def hook(store: Store, url: str, email: str = "ada@example.org", **options: object) -> Webhook:
    user = store.accounts.get_user_by_email(email) or store.accounts.create_user(email)
    webhook, _ = store.webhooks.add(user.id, url, **options)  # type: ignore[arg-type]
    return webhook


def bodies(server: FixtureServer, path: str) -> list[dict[str, object]]:
    return [json.loads(r.body) for r in server.requests_to(path)]


def test_a_webhook_gets_exactly_one_message_per_slot(database_url: str, fixture_server: FixtureServer) -> None:
    now = soon()
    settings = settings_for(database_url)
    fixture_server.route("/hooks/slack/T1/B2/SECRET", lambda _: Reply(200, "ok"))
    with open_store(database_url) as store:
        ids = trending_papers(store)
        # Due at the hour `now` is in: three hours later is the same slot whatever the time of day the test runs.
        webhook = hook(store, fixture_server.url + "/hooks/slack/T1/B2/SECRET", hour=now.hour)
        first = send_webhook_digests(store, settings, now=now)
        again = send_webhook_digests(store, settings, now=now + dt.timedelta(hours=3))  # the same slot
        [message] = store.webhooks.messages(webhook_id=webhook.id)
        next_day = send_webhook_digests(store, settings, now=now + dt.timedelta(days=1))  # nothing new since
    assert len(first.delivery.sent) == 1 and again.composed == [] and next_day.nothing_new == [webhook.id]
    [body] = bodies(fixture_server, "/hooks/slack/T1/B2/SECRET")
    assert message.state == "sent" and message.recipient == f"{fixture_server.url}/hooks/…"
    assert message.paper_ids == ids and "SECRET" not in message.recipient
    assert body["blocks"][0]["type"] == "header"  # type: ignore[index]


def test_the_worker_killed_mid_request_sends_no_duplicate(database_url: str, fixture_server: FixtureServer) -> None:
    """The receiver holds the second webhook's request without answering; the sender is SIGKILLed meanwhile.
    The restart sends the third and never repeats the second, which may have arrived (here it did)."""
    stalled: list[Request] = []

    def stall_first(request: Request) -> Reply:
        stalled.append(request)
        return Reply(200, "ok", delay=60 if len(stalled) == 1 else 0)

    for name in ("one", "three"):
        fixture_server.route(f"/hooks/{name}", lambda _: Reply(200, "ok"))
    fixture_server.route("/hooks/two", stall_first)
    with open_store(database_url) as store:
        trending_papers(store)
        hooks = [hook(store, f"{fixture_server.url}/hooks/{name}", f"{name}@example.org", format="mattermost")
                 for name in ("one", "two", "three")]
    env = {**os.environ, "PAPERSCOPE_DATABASE_URL": database_url, "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
           "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    command = [sys.executable, "-m", "paperscope", "digest", "send", "--no-index"]
    sender = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not stalled and time.monotonic() < deadline and sender.poll() is None:
            time.sleep(0.02)
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=30)
    assert sender.returncode == -signal.SIGKILL and len(stalled) == 1
    with open_store(database_url) as store:
        before = [store.webhooks.messages(webhook_id=w.id)[0].state for w in hooks]
    assert before == ["sent", "sending", "pending"]

    restart = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert restart.returncode == 1, restart.stderr  # one message is given up: reported
    assert "webhooks: sent 1, to retry later 0, failed 1" in restart.stdout
    assert "may have arrived" in restart.stderr and "/hooks/two" not in restart.stderr  # the URL stays hidden
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "webhooks:" not in again.stdout
    assert [len(fixture_server.requests_to(f"/hooks/{n}")) for n in ("one", "two", "three")] == [1, 1, 1]
    with open_store(database_url) as store:
        after = [store.webhooks.messages(webhook_id=w.id)[0] for w in hooks]
        assert [m.state for m in after] == ["sent", "failed", "sent"] and after[1].last_error == UNKNOWN_OUTCOME
        assert store.webhooks.get(hooks[1].id).consecutive_failures == 0  # type: ignore[union-attr]


def test_a_5xx_is_retried_with_backoff_and_retry_after_then_delivered(database_url: str,
                                                                     fixture_server: FixtureServer) -> None:
    now = soon()
    settings = settings_for(database_url)
    fixture_server.reply("/hook", Reply(503, "busy", {"Retry-After": "0.05"}), Reply(500, "oops"), Reply(200, "ok"))
    waits: list[float] = []
    with open_store(database_url) as store:
        trending_papers(store)
        webhook = hook(store, fixture_server.url + "/hook", format="discord")
        report = send_webhook_digests(store, settings, now=now, sleep=waits.append)
        [message] = store.webhooks.messages(webhook_id=webhook.id)
        assert store.webhooks.get(webhook.id).consecutive_failures == 0  # type: ignore[union-attr]
    assert waits == [0.05, 0.02]  # Retry-After, then the doubled backoff
    assert report.delivery.sent == [message.id] and (message.state, message.attempts) == ("sent", 3)
    requests = fixture_server.requests_to("/hook")
    assert len(requests) == 3 and len({r.headers[DELIVERY_HEADER] for r in requests}) == 1
    assert len({r.body for r in requests}) == 1  # the same body each time


def test_a_dead_endpoint_is_disabled_after_repeated_failures(database_url: str) -> None:
    now = soon()
    closed = f"http://127.0.0.1:{free_port()}/hooks/gone"  # nothing listens there
    settings = settings_for(database_url, webhook_retries=1, webhook_disable_after=3)
    waits: list[float] = []
    with open_store(database_url) as store:
        trending_papers(store)
        webhook = hook(store, closed, format="slack")
        first = send_webhook_digests(store, settings, now=now, sleep=waits.append)
        [message] = store.webhooks.messages(webhook_id=webhook.id)
        assert first.delivery.retry_later == [message.id] and waits == [0.01]
        assert (message.state, message.attempts) == ("pending", 2) and "ConnectError" in (message.last_error or "")
        assert store.webhooks.get(webhook.id).active  # type: ignore[union-attr]
        assert store.webhooks.deliverable(dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)) == []  # backoff
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
        second = deliver_webhooks(store, settings, now=later, sleep=waits.append)
        [message] = store.webhooks.messages(webhook_id=webhook.id)
        disabled = store.webhooks.get(webhook.id)
        assert disabled is not None and not disabled.active and disabled.consecutive_failures == 3
        assert "3 failed deliveries in a row" in (disabled.disabled_reason or "")
        assert second.failed == [message.id] and message.state == "failed"
        assert "now disabled" in second.errors[0] and "/gone" not in second.errors[0]
        # Disabled: its next slot composes nothing; turned on again, it does.
        assert send_webhook_digests(store, settings, now=now + dt.timedelta(days=1)).composed == []
        assert store.webhooks.resume(webhook.user_id, webhook.id)
        assert store.webhooks.get(webhook.id).consecutive_failures == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("status", [404, 410, 301])
def test_a_refusal_fails_the_message_at_once(database_url: str, fixture_server: FixtureServer, status: int) -> None:
    now = soon()
    settings = settings_for(database_url)
    fixture_server.route("/hook", lambda _: Reply(status, "no_service", {"Location": "https://elsewhere.example/"}))
    with open_store(database_url) as store:
        trending_papers(store)
        webhook = hook(store, fixture_server.url + "/hook")
        report = send_webhook_digests(store, settings, now=now, sleep=lambda _: None)
        [message] = store.webhooks.messages(webhook_id=webhook.id)
    assert report.delivery.failed == [message.id] and (message.state, message.attempts) == ("failed", 1)
    assert f"answered {status}" in (message.last_error or "") and len(fixture_server.requests) == 1


def test_the_json_payload_is_signed_with_the_webhook_secret(database_url: str, fixture_server: FixtureServer) -> None:
    now = soon()
    settings = settings_for(database_url)
    fixture_server.route("/receiver", lambda _: Reply(204))
    with open_store(database_url) as store:
        ids = trending_papers(store, 2)
        webhook = hook(store, fixture_server.url + "/receiver", format="json", content="trending")
        send_webhook_digests(store, settings, now=now)
    [request] = fixture_server.requests_to("/receiver")
    assert request.headers["Content-Type"] == "application/json"
    assert verify_signature(webhook.secret, request.body, request.headers[SIGNATURE_HEADER])
    assert not verify_signature("another secret", request.body, request.headers[SIGNATURE_HEADER])
    assert not verify_signature(webhook.secret, request.body + b" ", request.headers[SIGNATURE_HEADER])
    document = json.loads(request.body)
    assert document["type"] == "paperscope.digest" and document["version"] == 1
    slot = current_slot(webhook, now).isoformat()
    assert document["delivery"] == request.headers[DELIVERY_HEADER] == f"webhook:{webhook.id}:{slot}"
    assert document["slot"] == slot
    assert document["content"] == {"kind": "trending", "value": None} and document["test"] is False
    assert [p["id"] for p in document["papers"]] == ids and document["papers"][0]["title"] == HOSTILE
    assert document["papers"][0]["url"] == f"https://papers.example.org/papers/{ids[0]}"


def test_only_the_json_format_is_signed(database_url: str, fixture_server: FixtureServer) -> None:
    fixture_server.route("/slack", lambda _: Reply(200, "ok"))
    with open_store(database_url) as store:
        trending_papers(store, 1)
        webhook = hook(store, fixture_server.url + "/slack", format="slack")
        report = send_test(store, settings_for(database_url), webhook)
    [request] = fixture_server.requests_to("/slack")
    assert report.sent and SIGNATURE_HEADER not in request.headers
    assert json.loads(request.body)["blocks"][0]["text"]["text"].startswith("paperscope test message")


def test_the_email_digests_and_webhooks_run_together_without_touching_each_other(
        database_url: str, fixture_server: FixtureServer) -> None:
    """`send_digests` (what `digest send` and the worker run) composes and posts webhook messages too; e-mail
    delivery never picks up a webhook row (no SMTP server is running: a try would fail the run)."""
    now = soon()
    fixture_server.route("/hook", lambda _: Reply(200, "ok"))
    with open_store(database_url) as store:
        trending_papers(store)
        hook(store, fixture_server.url + "/hook", format="teams")
        report = send_digests(store, settings_for(database_url, smtp_port=free_port()), now=now, update_index=False)
    assert report.delivery.sent == [] and report.delivery.retry_later == [] and len(report.webhooks.delivery.sent) == 1
    [body] = bodies(fixture_server, "/hook")
    assert body["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"  # type: ignore[index]


def run_cli(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PAPERSCOPE_DATABASE_URL": database_url,
           "PYTHONPATH": str(REPO / "src") + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-m", "paperscope", *args], env=env, capture_output=True, text=True,
                          timeout=120)


def test_subscribe_with_a_webhook_on_the_command_line(database_url: str) -> None:
    with open_store(database_url) as store:
        store.accounts.create_user("ada@example.org")
    url = "https://hooks.example.org/hooks/abc/TOPSECRET"
    added = run_cli(database_url, "subscribe", "ada@example.org", "--webhook", url, "--format", "json",
                    "--query", "graph clustering", "--every", "weekly", "--weekday", "friday", "--hour", "9")
    assert added.returncode == 0, added.stderr
    assert "added webhook 1 (json, https://hooks.example.org/hooks/…): new papers for the search 'graph " \
           "clustering', weekly at 09:00 UTC on Fridays" in added.stdout
    with open_store(database_url) as store:
        [webhook] = store.webhooks.of_user(store.accounts.require_user("ada@example.org").id)
    assert "secret (shown only now" in added.stdout and webhook.secret in added.stdout
    assert "TOPSECRET" not in added.stdout
    changed = run_cli(database_url, "subscribe", "ada@example.org", "--webhook", url, "--format", "json",
                      "--query", "graph clustering")
    assert "changed webhook 1" in changed.stdout and webhook.secret not in changed.stdout
    listed = run_cli(database_url, "webhooks", "list", "ada@example.org")
    assert "webhook 1 (json" in listed.stdout and "daily at 07:00" in listed.stdout
    for args, message in [(("--webhook", "ftp://files.example.org/x"), "must start with https://"),
                          (("--webhook", url, "--query", "a", "--topic", "1"), "A webhook carries one thing"),
                          (("--webhook", url, "--topic", "99"), "there is no topic '99'"),
                          (("--webhook", "https://x.example/" + "a" * 2001), "at most 2,000 characters"),
                          (("--webhook", url, "--tag", "vision"), "give --kind personal too"),
                          (("--webhook", url, "--kind", "personal", "--tag", "vision"), "no tag 'vision' (value)"),
                          (("--webhook", url, "--by-tag"), "--by-tag is for e-mail digests"),
                          (("--tag", "vision",), "an e-mail digest takes --by-tag")]:
        refused = run_cli(database_url, "subscribe", "ada@example.org", *args)
        assert refused.returncode != 0 and message in refused.stderr, (args, refused.stderr)
    removed = run_cli(database_url, "webhooks", "remove", "ada@example.org", "1")
    assert removed.returncode == 0 and run_cli(database_url, "webhooks", "list", "ada@example.org").stdout == \
        "ada@example.org has no webhooks\n"


def test_deleting_a_user_takes_their_webhooks_and_messages(database_url: str, fixture_server: FixtureServer) -> None:
    now = soon()
    fixture_server.route("/hook", lambda _: Reply(200, "ok"))
    with open_store(database_url) as store:
        trending_papers(store)
        doomed = hook(store, fixture_server.url + "/hook", "mallory@example.org")
        kept = hook(store, fixture_server.url + "/hook", "alice@example.org")
        send_webhook_digests(store, settings_for(database_url), now=now)
        assert store.accounts.user_data(doomed.user_id).counts["webhooks"] == 1
    deleted = run_cli(database_url, "users", "delete", "mallory@example.org", "--yes")
    assert deleted.returncode == 0 and "1 digest messages" in deleted.stdout and "1 webhooks" in deleted.stdout
    with open_store(database_url) as store:
        assert store.webhooks.get(doomed.id) is None and store.webhooks.messages(webhook_id=doomed.id) == []
        assert store.webhooks.get(kept.id) is not None and len(store.webhooks.messages(webhook_id=kept.id)) == 1


@pytest.mark.search_backend
def test_a_search_a_topic_and_recommendations_each_carry_their_papers(
        database_url: str, fixture_server: FixtureServer, tmp_path: Path) -> None:
    now = soon()
    from paperscope.index.search import SearchEngine
    from paperscope.indexing import index_papers
    from paperscope.ingest.pipeline import Ingester

    settings = settings_for(database_url, index_dir=str(tmp_path / "indexes"))
    for path in ("/search", "/topic", "/personal", "/tagged"):
        fixture_server.route(path, lambda _: Reply(200))
    with open_store(database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        index_papers(SearchEngine(store, settings))
        robot_topic(store)
        hook(store, fixture_server.url + "/search", format="json", content="query", value="speech recognition")
        hook(store, fixture_server.url + "/topic", format="json", content="topic", value="3", max_papers=3)
        personal = hook(store, fixture_server.url + "/personal", format="json", content="personal")
        store.accounts.set_library_state(personal.user_id, [GRAPH[0]], "saved")
        bob = store.accounts.create_user("bob@example.org")
        with pytest.raises(InputError, match="no tag 'speech' \\(value\\); your tags: none yet"):
            hook(store, fixture_server.url + "/tagged", "bob@example.org", format="json", content="personal",
                 value="speech")
        store.accounts.add_tag(bob.id, SPEECH[0], "speech")
        store.accounts.set_library_state(bob.id, [ROBOTS[0]], "saved")  # in the library, not in the tag
        tagged = hook(store, fixture_server.url + "/tagged", "bob@example.org", format="json", content="personal",
                      value=" speech ")
        assert tagged.value == "speech" and tagged.describe() == "your recommendations from the tag 'speech'"
        report = send_webhook_digests(store, settings, now=now)
    assert len(report.delivery.sent) == 4
    [search] = bodies(fixture_server, "/search")
    assert sorted(p["id"] for p in search["papers"]) == SPEECH  # type: ignore[union-attr, index]
    assert search["link"] == "https://papers.example.org/search?q=speech+recognition"
    assert search["content"] == {"kind": "query", "value": "speech recognition"}
    [topic] = bodies(fixture_server, "/topic")
    assert len(topic["papers"]) == 3 and {p["id"] for p in topic["papers"]} <= set(ROBOTS)  # type: ignore[index, union-attr, arg-type]
    assert "in topic 3 (Robot grasping)" in str(topic["title"]) and str(topic["link"]).endswith("/topics/3")
    [mine] = bodies(fixture_server, "/personal")
    picked = [p["id"] for p in mine["papers"]]  # type: ignore[union-attr, index]
    assert GRAPH[0] not in picked and set(picked[:3]) <= set(GRAPH[1:])  # the library's neighbours first
    assert "recommended for you" in str(mine["title"])
    [by_tag] = bodies(fixture_server, "/tagged")
    assert set(p["id"] for p in by_tag["papers"][:3]) <= set(SPEECH[1:])  # type: ignore[index, union-attr]
    assert "from your tag 'speech'" in str(by_tag["title"]) and by_tag["link"] == \
        "https://papers.example.org/for-you?tag=speech"
    assert by_tag["content"] == {"kind": "personal", "value": "speech"}


def robot_topic(store: Store) -> None:
    """A topic map through the store's API with one topic, 3, holding the robot papers."""
    import numpy as np

    from paperscope.store.topics import Assignment, TopicRecord

    assignments = [Assignment(pid, 3 if pid in ROBOTS else None, 0.5, [], float(n), 0.0)
                   for n, pid in enumerate(GRAPH + SPEECH + ROBOTS)]
    record = TopicRecord(id=3, label="Robot grasping", keywords=["robot", "grasping"], representative_ids=ROBOTS[:3],
                         size=len(ROBOTS), cohesion=0.5, centroid=np.ones(4, dtype=np.float32), x=13.0, y=0.0,
                         neighbours=[], emerging=False)
    store.topics.save_map("hashing-384", [record], assignments, params={"method": "by hand (test)"})


@pytest.mark.search_backend
def test_the_background_jobs_post_a_due_webhook_when_no_email_digest_is_due(
        database_url: str, fixture_server: FixtureServer, tmp_path: Path) -> None:
    from paperscope.index.search import SearchEngine
    from paperscope.jobs import BackgroundJobs

    settings = settings_for(database_url, index_dir=str(tmp_path / "indexes"))
    fixture_server.route("/hook", lambda _: Reply(200))
    with open_store(database_url) as store:
        trending_papers(store)
        hook(store, fixture_server.url + "/hook", format="discord")
        jobs = BackgroundJobs(settings, store, SearchEngine(store, settings))
        assert jobs.send_due_digests() == 1
        assert jobs.send_due_digests() == 0  # the slot is done
    assert len(fixture_server.requests_to("/hook")) == 1


@pytest.mark.search_backend
def test_a_followed_search_carries_only_the_new_matching_papers(
        database_url: str, fixture_server: FixtureServer, tmp_path: Path) -> None:
    now = soon()
    from paperscope.index.search import SearchEngine
    from paperscope.indexing import index_papers

    settings = settings_for(database_url, index_dir=str(tmp_path / "indexes"))
    fixture_server.route("/search", lambda _: Reply(200))
    today = dt.datetime.now(dt.UTC).date()
    with open_store(database_url) as store:
        store.upsert_papers([Paper(id="1901.00001", title="Speech recognition, the old way", abstract="Speech.",
                                   authors=["A. Old"], categories=["cs.CL"], published=dt.date(2019, 1, 1))])
        webhook = hook(store, fixture_server.url + "/search", format="json", content="query", value="speech")
        store.webhooks.record_slot(webhook.id, current_slot(webhook, now) - dt.timedelta(days=1))
        with store.engine.begin() as conn:  # type: ignore[attr-defined]  # its last message: after the old paper
            conn.execute(webhooks_table.update().values(last_digest_at=dt.datetime.now(dt.UTC)))
        store.upsert_papers([Paper(id=f"2612.0000{n}", title=f"Speech model {n}", abstract="Speech recognition.",
                                   authors=["B. New"], categories=["cs.CL"], published=today - dt.timedelta(days=n))
                             for n in (1, 2)] + [Paper(id="2612.00009", title="Robot arms", abstract="Grasping.",
                                                       authors=["C. Robot"], categories=["cs.RO"], published=today)])
        index_papers(SearchEngine(store, settings))
        report = send_webhook_digests(store, settings, now=now)
    assert len(report.delivery.sent) == 1
    [document] = bodies(fixture_server, "/search")
    assert sorted(p["id"] for p in document["papers"]) == ["2612.00001", "2612.00002"]  # type: ignore[union-attr, index]
