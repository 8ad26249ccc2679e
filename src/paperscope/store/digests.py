"""Digests: subscriptions, follows, the outbox, papers sent, unsubscribes and private feed tokens.

`DigestStore` shares the engine of a `SQLStore` (`store.digests`), as `AccountStore` does. The outbox is
what makes sending idempotent: a digest is composed in full and stored with its idempotency key, the papers
it carries and the subscription's new schedule slot in one transaction; delivery then only moves a row from
`pending` through `sending` (claimed with a lease) to `sent` or `failed`.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from paperscope.errors import InputError
from paperscope.limits import FOLLOW_VALUE
from paperscope.store.db import as_utc, as_utc_or_none, in_chunks, inserted_id, utc_now, write_transaction
from paperscope.store.schema import (
    feed_tokens,
    follows,
    notifications,
    outbox,
    sent_papers,
    subscriptions,
    unsubscribes,
    users,
)

SubscriptionKind = Literal["personal", "trending", "both"]
Frequency = Literal["daily", "weekly"]
FollowKind = Literal["query", "author", "author_id", "topic"]  # author: a name; author_id: an author record
OutboxState = Literal["pending", "sending", "sent", "failed"]

SUBSCRIPTION_KINDS: tuple[SubscriptionKind, ...] = ("personal", "trending", "both")
FREQUENCIES: tuple[Frequency, ...] = ("daily", "weekly")
FOLLOW_KINDS: tuple[FollowKind, ...] = ("query", "author", "author_id", "topic")
TAG_SECTIONS = 10  # a digest `by_tag` ranks the user's largest tags, at most this many


@dataclass(frozen=True, slots=True)
class Subscription:
    user_id: int
    email: str
    timezone: str
    kind: SubscriptionKind
    frequency: Frequency
    hour: int
    weekday: int
    max_papers: int
    active: bool
    last_slot: dt.datetime | None
    last_digest_at: dt.datetime | None
    created_at: dt.datetime
    by_tag: bool = False  # a section of recommendations for each of the user's tags, as arxiv-sanity sends


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    user_id: int
    kind: FollowKind
    value: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class OutboxMessage:
    id: int
    idempotency_key: str
    user_id: int
    recipient: str
    subject: str
    message: str
    paper_ids: list[str]
    state: OutboxState
    attempts: int
    last_error: str | None
    next_attempt_at: dt.datetime
    claimed_by: str | None
    lease_until: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    channel: str = "email"  # or "webhook" (store/webhooks.py)
    webhook_id: int | None = None


class DigestStore:
    """Database I/O for digests. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Subscriptions ---------------------------------------------------------------------------

    def subscribe(self, user_id: int, *, kind: SubscriptionKind = "personal", frequency: Frequency = "daily",
                  hour: int = 7, weekday: int = 0, max_papers: int = 10, by_tag: bool = False) -> Subscription:
        """Create or change the user's subscription and make it active again."""
        if kind not in SUBSCRIPTION_KINDS:
            raise InputError(f"Unknown digest kind {kind!r}: use one of {', '.join(SUBSCRIPTION_KINDS)}.")
        if frequency not in FREQUENCIES:
            raise InputError(f"Unknown frequency {frequency!r}: use daily or weekly.")
        if not 0 <= hour <= 23 or not 0 <= weekday <= 6:
            raise InputError("The hour is 0 to 23 and the weekday 0 (Monday) to 6 (Sunday).")
        if not 1 <= max_papers <= 100:
            raise InputError("A digest carries 1 to 100 papers.")
        values = dict(kind=kind, frequency=frequency, hour=hour, weekday=weekday, max_papers=max_papers,
                      by_tag=by_tag, active=True, updated_at=utc_now())
        with write_transaction(self.engine) as conn:
            exists = conn.execute(sa.select(subscriptions.c.user_id)
                                  .where(subscriptions.c.user_id == user_id)).first()
            if exists:
                conn.execute(subscriptions.update().where(subscriptions.c.user_id == user_id).values(**values))
            else:
                conn.execute(subscriptions.insert().values(user_id=user_id, created_at=values["updated_at"],
                                                           **values))
            found = self._subscriptions(conn, subscriptions.c.user_id == user_id)
        return found[0]

    def get_subscription(self, user_id: int) -> Subscription | None:
        with self.engine.connect() as conn:
            found = self._subscriptions(conn, subscriptions.c.user_id == user_id)
        return found[0] if found else None

    def list_subscriptions(self, *, active_only: bool = True) -> list[Subscription]:
        condition = subscriptions.c.active.is_(True) if active_only else sa.true()
        with self.engine.connect() as conn:
            return self._subscriptions(conn, condition)

    def unsubscribe(self, user_id: int, *, source: str = "link") -> bool:
        """Stop the user's digests; returns whether a subscription was active. Every call is logged."""
        with write_transaction(self.engine) as conn:
            changed = conn.execute(subscriptions.update().where(
                subscriptions.c.user_id == user_id, subscriptions.c.active.is_(True))
                .values(active=False, updated_at=utc_now())).rowcount
            conn.execute(unsubscribes.insert().values(user_id=user_id, source=source[:32], created_at=utc_now()))
        return bool(changed)

    def unsubscribe_log(self, user_id: int) -> list[tuple[str, dt.datetime]]:
        """(source, when) of each unsubscribe of a user, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(unsubscribes.c.source, unsubscribes.c.created_at)
                                .where(unsubscribes.c.user_id == user_id).order_by(unsubscribes.c.id)).all()
        return [(source, as_utc(at)) for source, at in rows]

    def record_slot(self, user_id: int, slot: dt.datetime) -> None:
        """Mark a schedule slot as done when there was nothing new to send in it."""
        with write_transaction(self.engine) as conn:
            conn.execute(subscriptions.update().where(subscriptions.c.user_id == user_id)
                         .values(last_slot=slot))

    # Follows ---------------------------------------------------------------------------------

    def follow(self, user_id: int, kind: FollowKind, value: str) -> bool:
        """Follow a saved search, an author or a topic; returns whether it is new."""
        cleaned = " ".join(value.split())
        if kind not in FOLLOW_KINDS:
            raise InputError(f"Unknown kind of follow {kind!r}: use one of {', '.join(FOLLOW_KINDS)}.")
        FOLLOW_VALUE.check(cleaned)
        if kind == "topic" and not (cleaned.isascii() and cleaned.isdigit()):
            raise InputError(f"A topic is followed by its id (value), a whole number, not {cleaned[:40]!r}.")
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(follows.c.id).where(follows.c.user_id == user_id, follows.c.kind == kind,
                                                          follows.c.value == cleaned)).first():
                return False
            conn.execute(follows.insert().values(user_id=user_id, kind=kind, value=cleaned, created_at=utc_now()))
        return True

    def unfollow(self, user_id: int, kind: FollowKind, value: str) -> bool:
        with write_transaction(self.engine) as conn:
            return bool(conn.execute(follows.delete().where(
                follows.c.user_id == user_id, follows.c.kind == kind,
                follows.c.value == " ".join(value.split()))).rowcount)

    def follows_of(self, user_id: int) -> list[Follow]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(follows).where(follows.c.user_id == user_id)
                                .order_by(follows.c.id)).mappings().all()
        return [Follow(id=r["id"], user_id=r["user_id"], kind=r["kind"], value=r["value"],
                       created_at=as_utc(r["created_at"])) for r in rows]

    # Private feed tokens ---------------------------------------------------------------------

    def feed_token(self, user_id: int, *, rotate: bool = False) -> str:
        """The secret token of the user's private feed, made on first use; `rotate` revokes the old one."""
        with write_transaction(self.engine) as conn:
            token = conn.execute(sa.select(feed_tokens.c.token)
                                 .where(feed_tokens.c.user_id == user_id)).scalar_one_or_none()
            if token is not None and not rotate:
                return str(token)
            conn.execute(feed_tokens.delete().where(feed_tokens.c.user_id == user_id))
            token = secrets.token_urlsafe(24)
            conn.execute(feed_tokens.insert().values(user_id=user_id, token=token, created_at=utc_now()))
            return token

    def user_for_feed_token(self, token: str) -> int | None:
        with self.engine.connect() as conn:
            user_id = conn.execute(sa.select(feed_tokens.c.user_id)
                                   .where(feed_tokens.c.token == token)).scalar_one_or_none()
        return int(user_id) if user_id is not None else None

    # Papers sent ---------------------------------------------------------------------------------

    def sent_paper_ids(self, user_id: int) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(sa.select(sent_papers.c.paper_id)
                                    .where(sent_papers.c.user_id == user_id)).scalars())

    # Outbox ----------------------------------------------------------------------------------

    def enqueue(self, *, user_id: int, idempotency_key: str, recipient: str, subject: str, message: str,
                paper_ids: Sequence[str], slot: dt.datetime | None, composed_at: dt.datetime,
                notification_ids: Sequence[int] = ()) -> int | None:
        """Store a composed message, the papers it carries, the subscription's slot and the notifications it
        tells of (marked e-mailed) in one transaction.

        Returns the outbox id, or None when a message with this key exists already (nothing is changed)
        or when every paper in it was sent to the user meanwhile.
        """
        with write_transaction(self.engine) as conn:
            if conn.execute(sa.select(outbox.c.id).where(outbox.c.idempotency_key == idempotency_key)).first():
                return None
            already = _existing(conn, sent_papers.c.paper_id, list(paper_ids), sent_papers.c.user_id == user_id)
            fresh = [p for p in dict.fromkeys(paper_ids) if p not in already]
            if paper_ids and not fresh:
                return None
            now = utc_now()
            message_id = inserted_id(conn.execute(outbox.insert().values(
                idempotency_key=idempotency_key, user_id=user_id, recipient=recipient, subject=subject,
                message=message, paper_ids=fresh, state="pending", attempts=0, next_attempt_at=now,
                created_at=now, updated_at=now)))
            if fresh:
                conn.execute(sent_papers.insert(), [dict(user_id=user_id, paper_id=p, outbox_id=message_id,
                                                         sent_at=now) for p in fresh])
            if slot is not None:
                conn.execute(subscriptions.update().where(subscriptions.c.user_id == user_id)
                             .values(last_slot=slot, last_digest_at=composed_at))
            for chunk in in_chunks(list(notification_ids)):
                conn.execute(notifications.update().where(notifications.c.id.in_(chunk),
                                                          notifications.c.user_id == user_id).values(emailed_at=now))
            return message_id

    def has_message(self, idempotency_key: str) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(outbox.c.id)
                                .where(outbox.c.idempotency_key == idempotency_key)).first() is not None

    def deliverable(self, now: dt.datetime, *, user_id: int | None = None) -> list[OutboxMessage]:
        """E-mail messages to try now: pending ones whose time has come, and `sending` ones (the caller decides
        which of those were abandoned by their sender), oldest first. Webhook messages are
        `store.webhooks.deliverable`'s."""
        condition = sa.and_(outbox.c.channel == "email",
                            sa.or_(sa.and_(outbox.c.state == "pending", outbox.c.next_attempt_at <= now),
                                   outbox.c.state == "sending"))
        if user_id is not None:
            condition = sa.and_(condition, outbox.c.user_id == user_id)
        return self.outbox_messages(condition)

    def claim(self, message: OutboxMessage, claimant: str, lease_until: dt.datetime) -> OutboxMessage | None:
        """Take a message for sending if nobody took it since `message` was read (compare and swap)."""
        condition = sa.and_(outbox.c.id == message.id, outbox.c.state == message.state,
                            outbox.c.attempts == message.attempts)
        if message.claimed_by is None:
            condition = sa.and_(condition, outbox.c.claimed_by.is_(None))
        else:
            condition = sa.and_(condition, outbox.c.claimed_by == message.claimed_by)
        with write_transaction(self.engine) as conn:
            taken = conn.execute(outbox.update().where(condition).values(
                state="sending", claimed_by=claimant, lease_until=lease_until, attempts=outbox.c.attempts + 1,
                updated_at=utc_now())).rowcount
        if not taken:
            return None
        return self.get_message(message.id)

    def mark_sent(self, message_id: int) -> None:
        now = utc_now()
        with write_transaction(self.engine) as conn:
            conn.execute(outbox.update().where(outbox.c.id == message_id).values(
                state="sent", sent_at=now, updated_at=now, lease_until=None, last_error=None))

    def mark_retry(self, message_id: int, error: str, next_attempt_at: dt.datetime) -> None:
        """Back to pending after a temporary failure, to be tried again at `next_attempt_at`."""
        with write_transaction(self.engine) as conn:
            conn.execute(outbox.update().where(outbox.c.id == message_id).values(
                state="pending", last_error=error[:2000], next_attempt_at=next_attempt_at, claimed_by=None,
                lease_until=None, updated_at=utc_now()))

    def mark_failed(self, message_id: int, error: str) -> None:
        """Give up on a message; its papers count as unsent again, so a later digest may carry them."""
        with write_transaction(self.engine) as conn:
            conn.execute(outbox.update().where(outbox.c.id == message_id).values(
                state="failed", last_error=error[:2000], claimed_by=None, lease_until=None, updated_at=utc_now()))
            conn.execute(sent_papers.delete().where(sent_papers.c.outbox_id == message_id))

    def get_message(self, message_id: int) -> OutboxMessage | None:
        found = self.outbox_messages(outbox.c.id == message_id)
        return found[0] if found else None

    def outbox_messages(self, condition: sa.ColumnElement[bool] | None = None, *, user_id: int | None = None,
                        state: OutboxState | None = None) -> list[OutboxMessage]:
        """Outbox rows, oldest first, optionally of one user and in one state."""
        query = sa.select(outbox).order_by(outbox.c.id)
        if condition is not None:
            query = query.where(condition)
        if user_id is not None:
            query = query.where(outbox.c.user_id == user_id)
        if state is not None:
            query = query.where(outbox.c.state == state)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [message_from_row(r) for r in rows]

    # Helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _subscriptions(conn: Connection, condition: sa.ColumnElement[bool]) -> list[Subscription]:
        query = (sa.select(subscriptions, users.c.email, users.c.timezone)
                 .join(users, users.c.id == subscriptions.c.user_id).where(condition)
                 .order_by(subscriptions.c.user_id))
        return [Subscription(user_id=r["user_id"], email=r["email"], timezone=r["timezone"], kind=r["kind"],
                             frequency=r["frequency"], hour=r["hour"], weekday=r["weekday"],
                             max_papers=r["max_papers"], active=bool(r["active"]),
                             last_slot=as_utc_or_none(r["last_slot"]),
                             last_digest_at=as_utc_or_none(r["last_digest_at"]),
                             created_at=as_utc(r["created_at"]), by_tag=bool(r["by_tag"]))
                for r in conn.execute(query).mappings()]


def _existing(conn: Connection, column: sa.Column[Any], values: list[str],
              condition: sa.ColumnElement[bool]) -> set[str]:
    found: set[str] = set()
    for chunk in in_chunks(values):
        found.update(conn.execute(sa.select(column).where(condition, column.in_(chunk))).scalars())
    return found


def message_from_row(r: Any) -> OutboxMessage:
    """An outbox row as an `OutboxMessage`."""
    return OutboxMessage(id=r["id"], idempotency_key=r["idempotency_key"], user_id=r["user_id"],
                         recipient=r["recipient"], subject=r["subject"], message=r["message"],
                         paper_ids=list(r["paper_ids"]), state=r["state"], attempts=r["attempts"],
                         last_error=r["last_error"], next_attempt_at=as_utc(r["next_attempt_at"]),
                         claimed_by=r["claimed_by"], lease_until=as_utc_or_none(r["lease_until"]),
                         created_at=as_utc(r["created_at"]), sent_at=as_utc_or_none(r["sent_at"]),
                         channel=r["channel"], webhook_id=r["webhook_id"])
