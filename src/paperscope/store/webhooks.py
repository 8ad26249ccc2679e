"""Webhooks: a user's digests delivered to a chat channel or a JSON endpoint, through the outbox.

`WebhookStore` shares the engine of a `SQLStore` (`store.webhooks`). A webhook message is composed in full and
stored in the outbox (`channel` "webhook", `webhook_id`) with its idempotency key and the webhook's new schedule
slot in one transaction, as e-mail digests are; delivery (`digest/webhooks.py`) moves the row through the same
states with the same claims (`DigestStore.claim`, `mark_sent`, `mark_retry`, `mark_failed`). The row's
`recipient` holds the URL with its secret part hidden (`redacted_url`), the only form of it ever shown or logged.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import InputError
from paperscope.limits import FOLLOW_VALUE, TAG, WEBHOOK_URL
from paperscope.store.db import as_utc, as_utc_or_none, inserted_id, utc_now, write_transaction
from paperscope.store.digests import FREQUENCIES, Frequency, OutboxMessage, message_from_row
from paperscope.store.schema import outbox, tags, users, webhooks

WebhookFormat = Literal["slack", "mattermost", "discord", "teams", "json"]
WebhookContent = Literal["trending", "query", "topic", "personal"]

WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = ("slack", "mattermost", "discord", "teams", "json")
WEBHOOK_CONTENTS: tuple[WebhookContent, ...] = ("trending", "query", "topic", "personal")


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook subscription; `timezone` is its owner's (the hour is local to it)."""

    id: int
    user_id: int
    timezone: str
    url: str
    format: WebhookFormat
    secret: str
    content: WebhookContent
    value: str | None
    frequency: Frequency
    hour: int
    weekday: int
    max_papers: int
    active: bool
    consecutive_failures: int
    disabled_at: dt.datetime | None
    disabled_reason: str | None
    last_slot: dt.datetime | None
    last_digest_at: dt.datetime | None
    last_test_at: dt.datetime | None
    created_at: dt.datetime

    @property
    def shown_url(self) -> str:
        """The URL as shown and logged: its secret part hidden."""
        return redacted_url(self.url)

    def describe(self) -> str:
        """What it carries, in words: "trending papers", "the search 'diffusion'", "topic 12", ..."""
        if self.content == "query":
            return f"new papers for the search {self.value!r}"
        if self.content == "topic":
            return f"new papers in topic {self.value}"
        if self.content == "personal" and self.value:
            return f"your recommendations from the tag {self.value!r}"
        return "trending papers" if self.content == "trending" else "your recommendations"


def webhook_url_problem(url: str) -> str | None:
    """Why a webhook URL is refused, naming the field; None when it is an http(s) URL within bounds."""
    problem = WEBHOOK_URL.problem(url)
    if problem:
        return problem
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "The webhook URL (url) is not a valid URL: copy it whole from the service's webhook settings."
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "The webhook URL (url) must start with https:// (or http://) and name a host."
    if parts.username is not None or parts.password is not None:
        return "The webhook URL (url) must not carry a user name or password before the host."
    if any(c.isspace() for c in url.strip()):
        return "The webhook URL (url) must not contain spaces."
    return None


def redacted_url(url: str) -> str:
    """The URL with what makes it a secret hidden: scheme, host and port, and the first path segment when more
    follow (`https://hooks.slack.com/services/…`); never the query (Teams' `sig=`) or the rest of the path."""
    try:
        parts = urlsplit(url.strip())
        netloc = parts.hostname or ""
        if parts.port is not None:
            netloc += f":{parts.port}"
    except ValueError:
        return "(an invalid URL)"
    segments = [s for s in parts.path.split("/") if s]
    shown = f"/{segments[0][:40]}/…" if len(segments) > 1 else "/…" if segments or parts.query else ""
    return f"{parts.scheme}://{netloc}{shown}"


class WebhookStore:
    """Database I/O for webhooks. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Subscriptions ---------------------------------------------------------------------------

    def add(self, user_id: int, url: str, *, format: WebhookFormat = "slack", content: WebhookContent = "trending",
            value: str | None = None, frequency: Frequency = "daily", hour: int = 7, weekday: int = 0,
            max_papers: int = 10, most: int = 10) -> tuple[Webhook, bool]:
        """Add a webhook, or change the user's webhook with the same URL, format and content (its schedule and
        size) and turn it on again; returns it and whether it is new. Refuses a user's webhook beyond `most`."""
        url = url.strip()
        if problem := webhook_url_problem(url):
            raise InputError(problem)
        if format not in WEBHOOK_FORMATS:
            raise InputError(f"Unknown webhook format {format!r} (format): use one of {', '.join(WEBHOOK_FORMATS)}.")
        if content not in WEBHOOK_CONTENTS:
            raise InputError(f"Unknown webhook content {content!r} (content): use one of "
                             f"{', '.join(WEBHOOK_CONTENTS)}.")
        value = _checked_value(content, value)
        if frequency not in FREQUENCIES:
            raise InputError(f"Unknown frequency {frequency!r} (frequency): use daily or weekly.")
        if not 0 <= hour <= 23 or not 0 <= weekday <= 6:
            raise InputError("The hour (hour) is 0 to 23 and the weekday (weekday) 0 (Monday) to 6 (Sunday).")
        if not 1 <= max_papers <= 50:
            raise InputError("A webhook message carries 1 to 50 papers (max_papers).")
        now = utc_now()
        values = dict(frequency=frequency, hour=hour, weekday=weekday, max_papers=max_papers,
                      active=True, consecutive_failures=0, disabled_at=None, disabled_reason=None, updated_at=now)
        same = sa.and_(webhooks.c.user_id == user_id, webhooks.c.url == url, webhooks.c.format == format,
                       webhooks.c.content == content,
                       webhooks.c.value.is_(None) if value is None else webhooks.c.value == value)
        with write_transaction(self.engine) as conn:
            if content == "personal" and value is not None:
                _require_tag(conn, user_id, value)
            existing = conn.execute(sa.select(webhooks.c.id).where(same)).scalar_one_or_none()
            if existing is not None:
                conn.execute(webhooks.update().where(webhooks.c.id == existing).values(**values))
                return self._webhooks(conn, webhooks.c.id == existing)[0], False
            count = conn.execute(sa.select(sa.func.count()).select_from(webhooks)
                                 .where(webhooks.c.user_id == user_id)).scalar_one()
            if count >= most:
                raise InputError(f"You have {count} webhooks, the most an account may have: remove one first.")
            webhook_id = inserted_id(conn.execute(webhooks.insert().values(
                user_id=user_id, url=url, format=format, secret=secrets.token_hex(32), content=content, value=value,
                created_at=now, **values)))
            return self._webhooks(conn, webhooks.c.id == webhook_id)[0], True

    def get(self, webhook_id: int, *, user_id: int | None = None) -> Webhook | None:
        """A webhook by id; with `user_id`, only when it is that user's."""
        condition = webhooks.c.id == webhook_id
        if user_id is not None:
            condition = sa.and_(condition, webhooks.c.user_id == user_id)
        with self.engine.connect() as conn:
            found = self._webhooks(conn, condition)
        return found[0] if found else None

    def of_user(self, user_id: int) -> list[Webhook]:
        with self.engine.connect() as conn:
            return self._webhooks(conn, webhooks.c.user_id == user_id)

    def list_active(self) -> list[Webhook]:
        with self.engine.connect() as conn:
            return self._webhooks(conn, webhooks.c.active.is_(True))

    def remove(self, user_id: int, webhook_id: int) -> bool:
        """Delete one of the user's webhooks with its queued messages; whether there was one."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(webhooks.delete().where(webhooks.c.id == webhook_id,
                                                             webhooks.c.user_id == user_id)).rowcount)

    def resume(self, user_id: int, webhook_id: int) -> bool:
        """Turn a disabled webhook of the user on again, its failure count reset."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(webhooks.update().where(webhooks.c.id == webhook_id,
                                                             webhooks.c.user_id == user_id).values(
                active=True, consecutive_failures=0, disabled_at=None, disabled_reason=None,
                updated_at=utc_now())).rowcount)

    def record_slot(self, webhook_id: int, slot: dt.datetime) -> None:
        """Mark a schedule slot as done when there was nothing new to send in it."""
        with write_transaction(self.engine) as conn:
            conn.execute(webhooks.update().where(webhooks.c.id == webhook_id).values(last_slot=slot))

    def take_test_turn(self, webhook_id: int, now: dt.datetime, interval: dt.timedelta) -> bool:
        """Whether a test message may go now (none in the last `interval`); counts it when it may."""
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(webhooks.update().where(
                webhooks.c.id == webhook_id,
                sa.or_(webhooks.c.last_test_at.is_(None), webhooks.c.last_test_at <= now - interval))
                .values(last_test_at=now)).rowcount)

    # Health ------------------------------------------------------------------------------------

    def record_success(self, webhook_id: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(webhooks.update().where(webhooks.c.id == webhook_id, webhooks.c.consecutive_failures > 0)
                         .values(consecutive_failures=0))

    def record_failure(self, webhook_id: int, error: str, *, disable_after: int) -> bool:
        """Count a failed request; at `disable_after` in a row the webhook is disabled and its queued messages
        given up. Returns whether this failure disabled it."""
        now = utc_now()
        with write_transaction(self.engine) as conn:
            conn.execute(webhooks.update().where(webhooks.c.id == webhook_id)
                         .values(consecutive_failures=webhooks.c.consecutive_failures + 1))
            disabled = conn.execute(webhooks.update().where(
                webhooks.c.id == webhook_id, webhooks.c.active.is_(True),
                webhooks.c.consecutive_failures >= disable_after).values(
                active=False, disabled_at=now, updated_at=now,
                disabled_reason=f"{disable_after} failed deliveries in a row; the last: {error}"[:2000])).rowcount
            if disabled:
                conn.execute(outbox.update().where(outbox.c.webhook_id == webhook_id, outbox.c.state == "pending")
                             .values(state="failed", updated_at=now,
                                     last_error="not sent: the webhook was disabled after repeated failures"))
        return bool(disabled)

    # Outbox ------------------------------------------------------------------------------------

    def enqueue(self, webhook: Webhook, *, idempotency_key: str, title: str, body: str, paper_ids: Sequence[str],
                slot: dt.datetime | None, composed_at: dt.datetime) -> int | None:
        """Store a composed webhook message and the webhook's slot in one transaction; None when a message with
        this key exists already (nothing is changed)."""
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first():
                return None
            now = utc_now()
            message_id = inserted_id(conn.execute(outbox.insert().values(
                idempotency_key=idempotency_key, user_id=webhook.user_id, recipient=webhook.shown_url[:320],
                subject=title, message=body, paper_ids=list(dict.fromkeys(paper_ids)), state="pending",
                attempts=0, next_attempt_at=now, created_at=now, updated_at=now, channel="webhook",
                webhook_id=webhook.id)))
            if slot is not None:
                conn.execute(webhooks.update().where(webhooks.c.id == webhook.id)
                             .values(last_slot=slot, last_digest_at=composed_at))
            return message_id

    def deliverable(self, now: dt.datetime, *, webhook_id: int | None = None,
                    user_id: int | None = None) -> list[OutboxMessage]:
        """Webhook messages to try now: pending ones whose time has come and `sending` ones (the caller decides
        which of those were abandoned), oldest first."""
        condition = sa.and_(outbox.c.channel == "webhook",
                            sa.or_(sa.and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now),
                                   outbox.c.state == "sending"))
        if webhook_id is not None:
            condition = sa.and_(condition, outbox.c.webhook_id == webhook_id)
        if user_id is not None:
            condition = sa.and_(condition, outbox.c.user_id == user_id)
        return self.messages(condition)

    def messages(self, condition: sa.ColumnElement[bool] | None = None, *, webhook_id: int | None = None,
                 limit: int | None = None) -> list[OutboxMessage]:
        """Webhook outbox rows, oldest first (newest first with `limit`)."""
        query = sa.select(outbox).where(outbox.c.channel == "webhook")
        if condition is not None:
            query = query.where(condition)
        if webhook_id is not None:
            query = query.where(outbox.c.webhook_id == webhook_id)
        query = query.order_by(outbox.c.id.desc()).limit(limit) if limit else query.order_by(outbox.c.id)
        with self.engine.connect() as conn:
            return [message_from_row(r) for r in conn.execute(query).mappings()]

    # Helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _webhooks(conn: Connection, condition: sa.ColumnElement[bool]) -> list[Webhook]:
        query = (sa.select(webhooks, users.c.timezone).join(users, users.c.id == webhooks.c.user_id)
                 .where(condition).order_by(webhooks.c.id))
        return [Webhook(id=r["id"], user_id=r["user_id"], timezone=r["timezone"], url=r["url"], format=r["format"],
                        secret=r["secret"], content=r["content"], value=r["value"], frequency=r["frequency"],
                        hour=r["hour"], weekday=r["weekday"], max_papers=r["max_papers"], active=bool(r["active"]),
                        consecutive_failures=r["consecutive_failures"],
                        disabled_at=as_utc_or_none(r["disabled_at"]), disabled_reason=r["disabled_reason"],
                        last_slot=as_utc_or_none(r["last_slot"]), last_digest_at=as_utc_or_none(r["last_digest_at"]),
                        last_test_at=as_utc_or_none(r["last_test_at"]), created_at=as_utc(r["created_at"]))
                for r in conn.execute(query).mappings()]


def _require_tag(conn: Connection, user_id: int, tag: str) -> None:
    names = list(conn.execute(sa.select(tags.c.tag).where(tags.c.user_id == user_id).distinct()
                              .order_by(tags.c.tag)).scalars())
    if tag not in names:
        known = ", ".join(repr(name) for name in names[:20]) or "none yet"
        raise InputError(f"You have no tag {tag!r} (value); your tags: {known}.")


def _checked_value(content: WebhookContent, value: str | None) -> str | None:
    if content == "trending":
        return None
    if content == "personal":  # optional: one tag, whose papers alone the recommendations learn from
        tag = (value or "").strip()  # as tags are stored (store/accounts.py)
        return TAG.check(tag) if tag else None
    cleaned = " ".join((value or "").split())
    if not cleaned:
        what = "the search to follow" if content == "query" else "the topic id"
        raise InputError(f"A {content} webhook needs {what} (value).")
    FOLLOW_VALUE.check(cleaned)
    if content == "topic" and not (cleaned.isascii() and cleaned.isdigit()):
        raise InputError(f"A topic is given by its id (value), a whole number, not {cleaned[:40]!r}.")
    return cleaned
