"""Digests end to end: a real SMTP server (aiosmtpd on loopback) receives them; links, headers, unsubscribe."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from itsdangerous import URLSafeSerializer

from paperscope.cli import main
from paperscope.config import Settings
from paperscope.digest import current_slot, due_subscriptions, send_digests
from paperscope.digest.compose import Digest, DigestComposer, digest_paper, trending_papers
from paperscope.digest.tokens import read_unsubscribe_token, unsubscribe_token
from paperscope.errors import ExpiredLink
from paperscope.ingest.pipeline import Ingester
from paperscope.models import Paper
from paperscope.store import Store, open_store
from paperscope.store.digests import Subscription
from paperscope.web.app import create_app
from tests.conftest import FIXTURES
from tests.test_digest_support import Inbox, smtp_server

pytestmark = pytest.mark.search_backend  # reaches search or indexing (the Lite pass of .ci/run)

BASE_URL = "https://papers.example.org"
SECRET_KEY = "digest-test-secret-of-at-least-32-characters"  # a placeholder or a shorter key signs no link
GRAPH = ["2601.00001", "2601.00002", "2601.00003", "2601.00004", "2601.00005", "2601.00006"]
SPEECH = ["2601.00007", "2601.00008", "2601.00009", "2601.00010", "2601.00011"]
ROBOTS = ["2601.00012", "2601.00013", "2601.00014", "2601.00015", "2601.00016"]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


def site_env(tmp_path: Path, port: int) -> dict[str, str]:
    return {"PAPERSCOPE_DATABASE_URL": str(tmp_path / "site.db"), "PAPERSCOPE_EMBEDDING_MODEL": "hashing",
            "PAPERSCOPE_SMTP_HOST": "127.0.0.1", "PAPERSCOPE_SMTP_PORT": str(port),
            "PAPERSCOPE_BASE_URL": BASE_URL, "PAPERSCOPE_SECRET_KEY": SECRET_KEY,
            "PAPERSCOPE_MAIL_FROM": "digest@papers.example.org", "PAPERSCOPE_SMTP_BACKOFF_SECONDS": "0.01",
            "PAPERSCOPE_SMTP_TIMEOUT_SECONDS": "10"}


def site_settings(tmp_path: Path, port: int) -> Settings:
    return Settings(database_url=str(tmp_path / "site.db"), embedding_model="hashing", smtp_host="127.0.0.1",
                    smtp_port=port, base_url=BASE_URL, secret_key=SECRET_KEY,
                    mail_from="digest@papers.example.org", smtp_backoff_seconds=0.01, smtp_timeout_seconds=10)


def cli(env: dict[str, str], *args: str, code: int = 0, stdin: str | None = None) -> str:
    result = CliRunner(env=env).invoke(main, list(args), input=stdin)
    assert result.exit_code == code, (result.output, result.exception)
    return result.output


def links(message: EmailMessage) -> tuple[list[str], list[str]]:
    html = message.get_body(("html",))
    text = message.get_body(("plain",))
    assert html is not None and text is not None
    return re.findall(r'href="([^"]+)"', html.get_content()), re.findall(r"https?://\S+", text.get_content())


def test_a_subscriber_gets_one_digest_then_nothing_new_then_nothing_after_unsubscribing(
        tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env = site_env(tmp_path, port)
    cli(env, "ingest", str(FIXTURES / "digest_papers.jsonl"))
    cli(env, "users", "add", "ada@example.org")
    cli(env, "users", "add", "bob@example.org")
    cli(env, "library", "add", "ada@example.org", *GRAPH[:2])
    cli(env, "library", "hide", "ada@example.org", SPEECH[0])
    cli(env, "subscribe", "ada@example.org", "--every", "daily")
    cli(env, "subscribe", "bob@example.org", "--query", "robot grasping")
    out = cli(env, "digest", "send")
    assert "sent 2, to retry later 0, failed 0" in out

    [message] = inbox.to("ada@example.org")
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"] == "paperscope <digest@papers.example.org>"
    assert message["Subject"].startswith("paperscope: ") and "for you" in message["Subject"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert unsubscribe.startswith(f"{BASE_URL}/unsubscribe?token=")
    html_links, text_links = links(message)
    paper_pages = [u for u in html_links if u.startswith(f"{BASE_URL}/papers/")]
    sent_ids = [u.rsplit("/", 1)[1] for u in paper_pages if u.rsplit("/", 1)[1] in set(GRAPH + SPEECH + ROBOTS)]
    sent_ids = list(dict.fromkeys(sent_ids))
    assert sent_ids and not set(sent_ids) & {GRAPH[0], GRAPH[1], SPEECH[0]}  # never library or hidden papers
    assert set(sent_ids[:3]) <= set(GRAPH)  # the library's theme comes first
    assert f"https://arxiv.org/abs/{sent_ids[0]}" in html_links
    assert f"https://arxiv.org/pdf/{sent_ids[0]}" in html_links
    assert unsubscribe in html_links and unsubscribe in text_links
    assert f"{BASE_URL}/papers/{sent_ids[0]}" in text_links
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Why: Close to" in text and "in your library" in text
    [bobs] = inbox.to("bob@example.org")  # cold start: a followed search and nothing in the library
    bob_ids = [u.rsplit("/", 1)[1] for u in links(bobs)[0] if u.startswith(f"{BASE_URL}/papers/")]
    assert bob_ids[0] in ROBOTS and "your saved search" in bobs.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    assert "sent 0, to retry later 0, failed 0" in cli(env, "digest", "send")
    assert len(inbox.messages) == 2

    # The one-click link works in the web app, and stops the next digest.
    settings = site_settings(tmp_path, port)
    with open_store(settings.database_url) as store:
        client = TestClient(create_app(settings, store=store, background_jobs=False))
        path = unsubscribe.removeprefix(BASE_URL)
        confirm = client.get(path)
        assert confirm.status_code == 200 and "ada@example.org" in confirm.text and "<form" in confirm.text
        assert store.digests.get_subscription(1).active  # type: ignore[union-attr]  # a GET changes nothing
        done = client.post(path, content=b"List-Unsubscribe=One-Click",
                           headers={"content-type": "application/x-www-form-urlencoded"})
        assert done.status_code == 200 and "unsubscribed" in done.text
        assert store.digests.unsubscribe_log(1)[0][0] == "one-click"

        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers_day2.jsonl"))
        tomorrow = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
        report = send_digests(store, settings, now=tomorrow)
    assert [d.recipient for d in report.composed] == ["bob@example.org"]  # Bob, still subscribed, gets one
    assert inbox.to("ada@example.org") == [message]
    assert len(inbox.to("bob@example.org")) == 2


def test_a_digest_by_tag_has_a_section_for_each_tag_ranked_from_its_papers(
        tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env = site_env(tmp_path, port)
    cli(env, "ingest", str(FIXTURES / "digest_papers.jsonl"))
    cli(env, "users", "add", "ada@example.org")
    cli(env, "library", "tag", "ada@example.org", "robots", *ROBOTS[:2])
    cli(env, "library", "tag", "ada@example.org", "graphs", *GRAPH[:3])
    cli(env, "library", "tag", "ada@example.org", "<b>speech</b>", SPEECH[0])
    assert "personal digest by tag, daily" in cli(env, "subscribe", "ada@example.org", "--by-tag", "--papers", "2")
    assert "sent 1," in cli(env, "digest", "send")

    [message] = inbox.to("ada@example.org")
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    titles = re.findall(r"^(FOR YOUR TAG .*)\n=+$", text, re.MULTILINE)
    assert titles == ["FOR YOUR TAG \u201cGRAPHS\u201d", "FOR YOUR TAG \u201cROBOTS\u201d",
                      "FOR YOUR TAG \u201c<B>SPEECH</B>\u201d"]  # the largest tag first
    sections = re.split(r"^FOR YOUR TAG .*\n=+$", text, flags=re.MULTILINE)[1:]
    picked = [re.findall(rf"{BASE_URL}/papers/(\S+)", section) for section in sections]
    assert set(picked[0]) <= set(GRAPH[3:]) and set(picked[1]) <= set(ROBOTS[2:]) and set(picked[2]) <= set(SPEECH)
    assert [len(ids) for ids in picked] == [2, 2, 2]  # --papers is per section
    assert "among your papers tagged \u201cgraphs\u201d" in sections[0]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "For your tag \u201c&lt;b&gt;speech&lt;/b&gt;\u201d" in html and "<b>speech</b>" not in html
    with open_store(env["PAPERSCOPE_DATABASE_URL"]) as store:
        [sent] = store.digests.outbox_messages(user_id=1)
    assert sorted(sent.paper_ids) == sorted(i for ids in picked for i in ids)  # each paper once, all recorded


def test_each_paper_goes_to_a_user_at_most_once(tmp_path: Path, database_url: str, smtp: tuple[Inbox, int]
                                                 ) -> None:
    inbox, port = smtp
    settings = site_settings(tmp_path, port).model_copy(update={"database_url": database_url})
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        user = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(user.id, GRAPH[:1], "saved")
        store.accounts.vote(user.id, ROBOTS[0])  # an upvote is a positive too, and makes it trending
        store.digests.subscribe(user.id, kind="both", max_papers=4)
        now = dt.datetime.now(dt.UTC)
        send_digests(store, settings, now=now)
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers_day2.jsonl"))
        later = now + dt.timedelta(days=1)
        send_digests(store, settings, now=later)
        send_digests(store, settings, now=later + dt.timedelta(days=1))
        sent = [m.paper_ids for m in store.digests.outbox_messages(user_id=user.id)]
    assert len(inbox.messages) == len(sent) >= 2
    every = [p for ids in sent for p in ids]
    assert len(every) == len(set(every))  # no paper twice, ever
    assert set(sent[1]) <= {f"2601.{n:05d}" for n in range(17, 23)}  # day two: only the new papers
    assert GRAPH[0] not in every and ROBOTS[0] not in every


def _subscription(timezone: str, frequency: str = "daily", hour: int = 7, weekday: int = 0,
                  last_slot: dt.datetime | None = None) -> Subscription:
    return Subscription(user_id=1, email="ada@example.org", timezone=timezone, kind="personal",
                        frequency=frequency, hour=hour, weekday=weekday, max_papers=10, active=True,  # type: ignore[arg-type]
                        last_slot=last_slot, last_digest_at=None, created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_slots_follow_the_users_time_zone() -> None:
    tokyo = _subscription("Asia/Tokyo", hour=7)
    before = dt.datetime(2026, 11, 25, 21, 30, tzinfo=dt.UTC)  # 06:30 on the 26th in Tokyo
    after = dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC)  # 07:30 in Tokyo
    assert current_slot(tokyo, before) == dt.datetime(2026, 11, 24, 22, 0, tzinfo=dt.UTC)
    assert current_slot(tokyo, after) == dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.UTC)
    weekly = _subscription("Europe/Paris", frequency="weekly", hour=8, weekday=4)  # Fridays 08:00 Paris
    thursday = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.UTC)
    assert current_slot(weekly, thursday) == dt.datetime(2026, 11, 20, 7, 0, tzinfo=dt.UTC)
    summer = _subscription("Europe/Paris", hour=8)
    assert current_slot(summer, dt.datetime(2026, 7, 1, 12, tzinfo=dt.UTC)).hour == 6  # CEST is UTC+2
    assert _subscription("Not/AZone").timezone == "Not/AZone"
    assert current_slot(_subscription("Not/AZone"), after).hour == 7  # unknown zone: UTC


def test_due_subscriptions_are_those_whose_slot_has_no_digest_yet(store: Store) -> None:
    ada = store.accounts.create_user("ada@example.org", timezone="Asia/Tokyo")
    bob = store.accounts.create_user("bob@example.org")
    store.digests.subscribe(ada.id, hour=7)
    store.digests.subscribe(bob.id, hour=7)
    now = dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC)
    assert [s.email for s in due_subscriptions(store, now)] == ["ada@example.org", "bob@example.org"]
    store.digests.record_slot(ada.id, current_slot(store.digests.get_subscription(ada.id), now))  # type: ignore[arg-type]
    assert [s.email for s in due_subscriptions(store, now)] == ["bob@example.org"]
    next_day = now + dt.timedelta(days=1)
    assert [s.email for s in due_subscriptions(store, next_day)] == ["ada@example.org", "bob@example.org"]
    store.digests.unsubscribe(bob.id, source="cli")
    assert [s.email for s in due_subscriptions(store, next_day)] == ["ada@example.org"]


def test_the_trending_section_ranks_like_the_trending_page(store: Store) -> None:
    today = dt.date(2026, 6, 7)
    store.upsert_papers([
        Paper(id="2606.00001", title="Popular last week", published=today - dt.timedelta(days=6), upvotes=10),
        Paper(id="2606.00002", title="Popular today", published=today, upvotes=4),
        Paper(id="2606.00003", title="Not upvoted", published=today),
    ])
    ids = ["2606.00001", "2606.00002", "2606.00003"]
    # A week's half-life is 3 days: (10 + 1) * 0.5 ** 2 = 2.75 ranks below (4 + 1) = 5; unvoted papers stay out.
    assert [p.id for p in trending_papers(store, ids, 5, period="week", today=today)] == ids[1::-1]
    for email in ("ada@example.org", "bob@example.org"):  # local votes count as upvotes: (2 + 1) > 2.75
        store.accounts.vote(store.accounts.create_user(email).id, ids[2])
    assert [p.id for p in trending_papers(store, ids, 2, period="week", today=today)] == [ids[1], ids[2]]


def test_unsubscribe_tokens_are_signed_dated_and_name_the_address(tmp_path: Path) -> None:
    sent = dt.datetime(2026, 3, 1, 7, tzinfo=dt.UTC)
    lifetime = dt.timedelta(days=60)
    token = unsubscribe_token("secret", 7, "ada@example.org", issued_at=sent)
    assert read_unsubscribe_token("secret", token, lifetime=lifetime, now=sent + lifetime) == (7, "ada@example.org")
    with pytest.raises(ExpiredLink):
        read_unsubscribe_token("secret", token, lifetime=lifetime, now=sent + lifetime + dt.timedelta(seconds=1))
    assert read_unsubscribe_token("another secret", token, lifetime=lifetime, now=sent) is None
    assert read_unsubscribe_token("secret", token[:-2] + "xx", lifetime=lifetime, now=sent) is None
    assert read_unsubscribe_token("secret", "", lifetime=lifetime) is None
    undated = URLSafeSerializer("secret", salt="paperscope.unsubscribe").dumps({"u": 7, "e": "ada@example.org"})
    with pytest.raises(ExpiredLink):  # the links of digests sent before they had a lifetime
        read_unsubscribe_token("secret", str(undated), lifetime=lifetime)


def test_digest_pages_feed_and_json(tmp_path: Path) -> None:
    settings = site_settings(tmp_path, 25)
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        from paperscope.index.search import SearchEngine
        from paperscope.indexing import index_papers

        index_papers(SearchEngine(store, settings))
        ada = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(ada.id, ROBOTS[:2], "saved")
        store.digests.subscribe(ada.id)
        feed_token = store.digests.feed_token(ada.id)
        client = TestClient(create_app(settings, store=store, background_jobs=False))

        forged = client.get("/unsubscribe", params={"token": unsubscribe_token("wrong key", ada.id, ada.email)})
        assert forged.status_code == 400 and "not valid" in forged.text
        assert client.post("/unsubscribe", params={"token": "garbage"}).status_code == 400
        assert store.digests.get_subscription(ada.id).active  # type: ignore[union-attr]

        feed = client.get(f"/feeds/users/{feed_token}.xml")
        assert feed.status_code == 200 and feed.headers["content-type"].startswith("application/rss+xml")
        assert ET.fromstring(feed.content).findtext("./channel/link") == f"{BASE_URL}/"
        items = ET.fromstring(feed.content).findall("./channel/item")
        assert items and items[0].findtext("link", "").rsplit("/", 1)[1] in ROBOTS[2:]
        assert "Why:" in items[0].findtext("description", "")
        assert client.get("/feeds/users/not-a-token.xml").status_code == 404
        store.digests.feed_token(ada.id, rotate=True)
        assert client.get(f"/feeds/users/{feed_token}.xml").status_code == 404  # the old address is revoked

        assert client.get("/api/recommendations").status_code == 401
        # The feed token opens the feed only: in a query string it would land in access logs.
        new_token = store.digests.feed_token(ada.id)
        assert client.get("/api/recommendations", params={"token": new_token}).status_code == 401
        _, api_token = store.sessions.create_api_token(ada.id, "script")
        signed_in = {"Authorization": f"Bearer {api_token}"}
        picks = client.get("/api/recommendations", params={"limit": 3}, headers=signed_in).json()
        assert [p["id"] for p in picks][:3] and all(set(p) >= {"id", "score", "why"} for p in picks)
        assert picks[0]["id"] in ROBOTS[2:] and not {p["id"] for p in picks} & set(ROBOTS[:2])
        assert len(client.get("/api/recommendations", params={"limit": 2}, headers=signed_in).json()) == 2


def test_dry_run_and_preview_store_and_send_nothing(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    env = site_env(tmp_path, port)
    cli(env, "ingest", str(FIXTURES / "digest_papers.jsonl"))
    cli(env, "users", "add", "ada@example.org")
    cli(env, "library", "add", "ada@example.org", SPEECH[0])
    cli(env, "subscribe", "ada@example.org")
    out = cli(env, "digest", "send", "--dry-run")
    assert "would send: ada@example.org" in out and "why: " in out
    target = tmp_path / "preview.html"
    out = cli(env, "digest", "preview", "ada@example.org", "--output", str(target))
    html = target.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and f"{BASE_URL}/papers/{SPEECH[1]}" in html
    assert inbox.messages == []
    with open_store(env["PAPERSCOPE_DATABASE_URL"]) as store:
        assert store.digests.outbox_messages() == [] and store.digests.sent_paper_ids(1) == set()
    assert "queued: ada@example.org" in cli(env, "digest", "send", "--user", "ada@example.org")
    assert len(inbox.messages) == 1


def test_migration_0006_builds_the_tables_of_schema_py_and_goes_back(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from paperscope.store import migrate, schema

    tables = ["subscriptions", "follows", "outbox", "sent_papers", "unsubscribes", "feed_tokens"]
    open_store(str(tmp_path / "m.db")).close()
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'm.db'}")
    inspector = sa.inspect(engine)
    for name in tables:
        built = {c["name"]: c["nullable"] for c in inspector.get_columns(name)}
        declared = {c.name: c.nullable for c in schema.metadata.tables[name].columns}
        assert built == declared, name
    config = Config()
    config.set_main_option("script_location", str(Path(migrate.__file__).with_name("migrations")))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0005")
    assert not set(tables) & set(sa.inspect(engine).get_table_names())
    migrate.upgrade(engine)
    assert set(tables) <= set(sa.inspect(engine).get_table_names())
    engine.dispose()


def test_the_worker_process_sends_each_due_digest_once(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    """The scheduled sending as deployed: `paperscope worker` (what `serve` runs in a thread or, with
    --workers N, as a process of its own) sends the due digest, and nothing more on its next looks."""
    import os
    import signal
    import subprocess
    import sys
    import time

    inbox, port = smtp
    settings = site_settings(tmp_path, port)
    with open_store(settings.database_url) as store:
        Ingester(store, settings).ingest(str(FIXTURES / "digest_papers.jsonl"))
        user = store.accounts.create_user("ada@example.org")
        store.accounts.set_library_state(user.id, ROBOTS[:1], "saved")
        store.digests.subscribe(user.id)
    env = {**os.environ, **site_env(tmp_path, port), "PAPERSCOPE_INGEST_SOURCES": "",
           "PAPERSCOPE_JOBS_POLL_SECONDS": "0.2", "PAPERSCOPE_INDEX_DIR": str(tmp_path / "index")}
    worker = subprocess.Popen([sys.executable, "-m", "paperscope", "worker"], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)  # several more polls: the digest is not sent again
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=60)[0].decode()
    assert worker.returncode == 0 and "Traceback" not in output, output
    assert [m["To"] for m in inbox.messages] == ["ada@example.org"]
    with open_store(settings.database_url) as store:
        [message] = store.digests.outbox_messages()
        assert message.state == "sent"
        assert store.count_papers_to_embed("hashing-384") == 0  # the worker embedded what was ingested


def test_tex_markup_shows_as_html_and_plain_text_in_the_message(tmp_path: Path) -> None:
    settings = site_settings(tmp_path, 2525)
    paper = Paper(id="2601.09999", title=r"Fast \textsc{Graph} cuts -- exact", authors=["Ada Lovelace"],
                  abstract=r"We cut \textbf{large graphs} 20\% faster~\cite{x} with $O(n^2)$ memory. See "
                           r"\href{https://example.org/code}{the code}; \href{javascript:alert(1)}{not this}. <b>x</b>")
    now = dt.datetime(2026, 6, 1, 8, tzinfo=dt.UTC)
    subscription = Subscription(user_id=1, email="ada@example.org", timezone="UTC", kind="personal",
                                frequency="daily", hour=8, weekday=0, max_papers=10, active=True, last_slot=None,
                                last_digest_at=None, created_at=now)
    digest = Digest(user_id=1, recipient="ada@example.org", idempotency_key="digest:1:test", slot=None,
                    subject="paperscope: 1 paper for you", personal=[digest_paper(paper, "Close to x.", BASE_URL)])
    with open_store(settings.database_url) as store:
        message = DigestComposer(store, settings).render(digest, subscription, now)
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "1. Fast Graph cuts \u2013 exact" in text
    assert ("We cut large graphs 20% faster with O(n²) memory. See the code (https://example.org/code); not this. "
            "<b>x</b>") in text
    assert "Fast Graph cuts \u2013 exact</a>" in html
    assert "We cut <strong>large graphs</strong> 20% faster with O(n²) memory" in html  # no client renders TeX
    assert '<a href="https://example.org/code" rel="nofollow noopener">the code</a>' in html
    assert "javascript:" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and "<b>" not in html
