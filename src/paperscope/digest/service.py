"""One digest run: compose what is due into the outbox, then deliver the outbox.

`send_digests` is what `paperscope digest send` runs, and what a scheduler (the web app's, a worker's, or
cron) calls every few minutes: it only composes for subscriptions whose slot has come (`due_subscriptions`)
and never twice for the same slot (the outbox's idempotency key), so calling it often is harmless.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field

from paperscope.config import Settings
from paperscope.digest.channels import WebhookRunReport, send_webhook_digests
from paperscope.digest.compose import NO_UNSUBSCRIBE_LINK, Digest, DigestComposer
from paperscope.digest.delivery import DeliveryReport, Sleep, SmtpConnection, deliver_outbox
from paperscope.digest.notify_mail import queue_immediate_notifications
from paperscope.digest.schedule import current_slot, due_subscriptions
from paperscope.digest.tokens import signing_key
from paperscope.index.search import SearchEngine
from paperscope.recommend.engine import Recommender
from paperscope.store import Store
from paperscope.store.digests import Subscription


@dataclass
class RunReport:
    composed: list[Digest] = field(default_factory=list)  # new messages in the outbox (or, dry run, shown)
    nothing_new: list[str] = field(default_factory=list)  # addresses with nothing new to send
    delivery: DeliveryReport = field(default_factory=DeliveryReport)
    webhooks: WebhookRunReport = field(default_factory=WebhookRunReport)  # the webhook messages' run
    warnings: list[str] = field(default_factory=list)  # what the operator should fix (shown, never fatal)


def send_digests(store: Store, settings: Settings, *, now: dt.datetime | None = None, email: str | None = None,
                 dry_run: bool = False, recommender: Recommender | None = None, update_index: bool = True,
                 sleep: Sleep = time.sleep, connection: SmtpConnection | None = None,
                 search: SearchEngine | None = None) -> RunReport:
    """Compose the due digests and webhook messages (all users, or the one with `email`), queue the e-mails of
    notifications whose users chose "immediate" (digest/notify_mail.py), and deliver every pending message
    (`report.delivery` for e-mail, `report.webhooks` for webhooks).

    With `dry_run`, digests are composed and returned but nothing is stored or sent. With `update_index`
    the papers ingested since the last run are embedded first, so they can be recommended. `search` is the
    engine that followed-search webhooks search (a read-only one of their own without it).
    """
    moment = now or dt.datetime.now(dt.UTC)
    report = RunReport()
    user_id = store.accounts.require_user(email).id if email else None
    due = [s for s in due_subscriptions(store, moment) if user_id is None or s.user_id == user_id]
    if due:
        if signing_key(settings) is None:
            report.warnings.append(NO_UNSUBSCRIBE_LINK)
        recommender = recommender or _indexed_recommender(store, settings, update_index)
        composer = DigestComposer(store, settings, recommender)
        for subscription in due:
            slot = current_slot(subscription, moment)
            digest = composer.compose(subscription, moment, slot)
            if digest is None or digest.message is None:
                report.nothing_new.append(subscription.email)
                if not dry_run:
                    store.digests.record_slot(subscription.user_id, slot)
                continue
            report.composed.append(digest)
            if not dry_run:
                store.digests.enqueue(user_id=digest.user_id, idempotency_key=digest.idempotency_key,
                                      recipient=digest.recipient, subject=digest.subject,
                                      message=digest.wire_text(), paper_ids=digest.paper_ids,
                                      slot=slot, composed_at=moment, notification_ids=digest.notification_ids)
    if not dry_run:
        queue_immediate_notifications(store, settings, moment)
        report.delivery = deliver_outbox(store, settings, user_id=user_id, sleep=sleep, connection=connection)
    report.webhooks = send_webhook_digests(
        store, settings, now=moment, user_id=user_id, dry_run=dry_run, sleep=sleep, search=search,
        recommender=recommender or (lambda: _indexed_recommender(store, settings, update_index)))
    return report


def _indexed_recommender(store: Store, settings: Settings, update_index: bool) -> Recommender:
    """A recommender over the stored embeddings, the papers ingested since the last run embedded first when
    `update_index`."""
    if update_index:
        from paperscope.index.search import SearchEngine
        from paperscope.indexing import LEAVE_MAP, index_papers

        index_papers(SearchEngine(store, settings), topic_map=LEAVE_MAP, tune_search="never")
    return Recommender(store, settings)


def preview(store: Store, settings: Settings, email: str, *, now: dt.datetime | None = None,
            recommender: Recommender | None = None) -> Digest | None:
    """The digest the user would get now (whether or not it is due), without storing or sending anything."""
    moment = now or dt.datetime.now(dt.UTC)
    user = store.accounts.require_user(email)
    subscription = store.digests.get_subscription(user.id)
    if subscription is None:
        subscription = _default_subscription(store, user.id)
    composer = DigestComposer(store, settings, recommender)
    return composer.compose(subscription, moment, None)


def _default_subscription(store: Store, user_id: int) -> Subscription:
    """A daily digest of both kinds, to preview for a user who has no subscription (nothing is stored)."""
    user = store.accounts.get_user(user_id)
    assert user is not None
    return Subscription(user_id=user_id, email=user.email, timezone=user.timezone, kind="both", frequency="daily",
                        hour=7, weekday=0, max_papers=10, active=False, last_slot=None, last_digest_at=None,
                        created_at=user.created_at)
