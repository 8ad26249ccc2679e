"""What a webhook carries, composed for its slot into the outbox, and the run that does it for every due webhook.

A webhook carries, from the papers stored since its last message (or over its period before the first): the
trending papers (ranked as the trending page ranks them), the papers matching a followed search (the keyword
index), the papers of a topic, or its owner's recommendations, at most `max_papers` of them. Its schedule is an
e-mail digest's (a local hour, daily or weekly; `digest/schedule.py`), and each slot is composed at most once
(the outbox's idempotency key `webhook:ID:SLOT`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import httpx

from paperscope.config import Settings
from paperscope.digest.compose import DigestPaper, digest_paper, trending_papers
from paperscope.digest.delivery import DeliveryReport, Sleep
from paperscope.digest.payloads import ChannelMessage, payload
from paperscope.digest.schedule import current_slot, is_due, period_length
from paperscope.digest.webhooks import TEST_KEY_PREFIX, deliver_webhooks
from paperscope.errors import InputError, NothingToGoOn
from paperscope.index.search import SearchEngine
from paperscope.models import Paper
from paperscope.recommend.engine import Recommender
from paperscope.store import PaperFilter, Store
from paperscope.store.webhooks import Webhook

SEARCHED = 1000  # keyword hits looked at for a followed search, before keeping those of the period


@dataclass
class WebhookRunReport:
    composed: list[ChannelMessage] = field(default_factory=list)
    nothing_new: list[int] = field(default_factory=list)  # webhook ids with nothing new in their slot
    delivery: DeliveryReport = field(default_factory=DeliveryReport)


def due_webhooks(store: Store, now: dt.datetime | None = None) -> list[Webhook]:
    """Active webhooks whose message is due at `now`."""
    moment = now or dt.datetime.now(dt.UTC)
    return [w for w in store.webhooks.list_active() if is_due(w, moment)]


class ChannelComposer:
    """Chooses a webhook's papers and builds its message. `recommender` (personal webhooks) and `search` (followed
    searches) are made on first need; a search engine of its own only reads the indexes, which the process that
    indexes (`digest send` first, the worker, the web app's jobs) keeps current."""

    def __init__(self, store: Store, settings: Settings,
                 recommender: Callable[[], Recommender] | Recommender | None = None,
                 search: SearchEngine | None = None) -> None:
        self.store = store
        self.settings = settings
        self._recommender = recommender
        self._search = search
        self.base_url = settings.base_url.rstrip("/")

    def search(self) -> SearchEngine:
        if self._search is None:
            self._search = SearchEngine(self.store, self.settings, writes_indexes=False)
        return self._search

    def recommender(self) -> Recommender:
        if not isinstance(self._recommender, Recommender):
            self._recommender = (self._recommender or (lambda: Recommender(self.store, self.settings)))()
        return self._recommender

    def compose(self, webhook: Webhook, now: dt.datetime, slot: dt.datetime | None, *, test: bool = False
                ) -> ChannelMessage | None:
        """The message of this webhook for `slot`, or None when nothing new fits it. A `test` message shows
        what the webhook would carry now and says it is a test."""
        since = (None if test else webhook.last_digest_at) or (now - period_length(webhook))
        candidates = self.store.papers_added_since(since)
        papers, title, link = self._papers(webhook, candidates, now)
        if not papers and not test:
            return None
        key = (f"{TEST_KEY_PREFIX}{webhook.id}:{now.isoformat()}" if test
               else f"webhook:{webhook.id}:{(slot or now).isoformat()}")
        heading = f"paperscope: {len(papers)} {'paper' if len(papers) == 1 else 'papers'} {title} " \
                  f"({now.date().isoformat()})"
        if test:
            heading = f"paperscope test message: {title} (this webhook works)"
        return ChannelMessage(title=heading, papers=papers, link=link, delivery=key, webhook_id=webhook.id,
                              content=webhook.content, value=webhook.value, composed_at=now, slot=slot, test=test)

    def _papers(self, webhook: Webhook, candidates: list[str], now: dt.datetime
                ) -> tuple[list[DigestPaper], str, str]:
        """(papers, what they are in words, the page where the list goes on)."""
        limit = webhook.max_papers
        base = self.base_url
        if webhook.content == "trending":
            popular = trending_papers(self.store, candidates, limit, today=now.date(),
                                      period="week" if webhook.frequency == "weekly" else "day")
            return [self._paper(p, _votes_reason(p)) for p in popular], "trending", f"{base}/"
        if webhook.content == "query":
            query = webhook.value or ""
            link = f"{base}/search?{urlencode({'q': query})}"
            return self._listed(self._searched(query, candidates, limit), f"Matches {query!r}."), \
                f"matching {query!r}", link
        if webhook.content == "topic":
            topic_id = int(webhook.value or 0)
            labels = self.store.topics.labels_of(candidates) if candidates else {}
            ids = [c for c in candidates if labels.get(c, (None, ""))[0] == topic_id][:limit]
            topic = self.store.topics.get_topic(topic_id)
            name = f"in topic {topic_id}" + (f" ({topic.label})" if topic is not None else "")
            return self._listed(ids, f"New {name}."), name, f"{base}/topics/{quote(str(topic_id))}"
        if webhook.value:  # one tag's recommendations
            return self._personal(webhook, candidates), f"recommended from your tag {webhook.value!r}", \
                f"{base}/for-you?{urlencode({'tag': webhook.value})}"
        return self._personal(webhook, candidates), "recommended for you", f"{base}/for-you"

    def _searched(self, query: str, candidates: list[str], limit: int) -> list[str]:
        if not candidates:
            return []
        allowed = set(candidates)
        # Searched among the papers published since the oldest new one (all of them, when one has no date), so
        # that the period's papers are not crowded out of the hits by older ones.
        published = [p.published for p in self.store.get_papers(candidates).values()]
        since = min(d for d in published if d is not None) if published and None not in published else None
        try:
            hits = self.search().search(query, mode="keyword", limit=SEARCHED,
                                        filters=PaperFilter(published_from=since) if since else None)
        except InputError:
            return []
        return [h.id for h in hits if h.id in allowed][:limit]

    def _personal(self, webhook: Webhook, candidates: list[str]) -> list[DigestPaper]:
        if not candidates:
            return []
        accounts = self.store.accounts
        exclude = (set(accounts.library_ids(webhook.user_id, "saved")) | set(accounts.library_ids(webhook.user_id,
                                                                                                   "hidden"))
                   | set(accounts.voted_ids(webhook.user_id)))
        try:
            picks = self.recommender().recommend(webhook.user_id, candidates=candidates, exclude=exclude,
                                                 limit=webhook.max_papers, tag=webhook.value)
        except (NothingToGoOn, InputError):  # nothing to go on; or the tag is gone, or all its papers hidden
            return []
        return [self._paper(r.paper, r.why.text()) for r in picks]

    def _listed(self, ids: list[str], reason: str) -> list[DigestPaper]:
        found = self.store.get_papers(ids)
        return [self._paper(found[i], reason) for i in ids if i in found]

    def _paper(self, paper: Paper, reason: str) -> DigestPaper:
        return digest_paper(paper, reason, self.base_url)


def enqueue(store: Store, webhook: Webhook, message: ChannelMessage) -> int | None:
    """Store a composed message in the outbox as the body its format POSTs; None when its slot has one already."""
    return store.webhooks.enqueue(webhook, idempotency_key=message.delivery, title=message.title,
                                  body=payload(webhook.format, message), paper_ids=[p.id for p in message.papers],
                                  slot=None if message.test else message.slot, composed_at=message.composed_at)


def send_webhook_digests(store: Store, settings: Settings, *, now: dt.datetime | None = None,
                         user_id: int | None = None, dry_run: bool = False,
                         recommender: Callable[[], Recommender] | Recommender | None = None,
                         search: SearchEngine | None = None, sleep: Sleep = time.sleep,
                         transport: httpx.BaseTransport | None = None) -> WebhookRunReport:
    """Compose the due webhook messages (of all users, or of `user_id`) into the outbox and deliver every webhook
    message that is due. With `dry_run` they are composed and returned; nothing is stored or sent."""
    moment = now or dt.datetime.now(dt.UTC)
    report = WebhookRunReport()
    composer = ChannelComposer(store, settings, recommender, search)
    for webhook in due_webhooks(store, moment):
        if user_id is not None and webhook.user_id != user_id:
            continue
        slot = current_slot(webhook, moment)
        message = composer.compose(webhook, moment, slot)
        if message is None:
            report.nothing_new.append(webhook.id)
            if not dry_run:
                store.webhooks.record_slot(webhook.id, slot)
            continue
        report.composed.append(message)
        if not dry_run:
            enqueue(store, webhook, message)
    if not dry_run:
        report.delivery = deliver_webhooks(store, settings, user_id=user_id, sleep=sleep, transport=transport)
    return report


def send_test(store: Store, settings: Settings, webhook: Webhook, *, now: dt.datetime | None = None,
              search: SearchEngine | None = None, sleep: Sleep = time.sleep,
              transport: httpx.BaseTransport | None = None) -> DeliveryReport:
    """Compose a test message for the webhook (what it would carry now, said to be a test) and deliver it now,
    without retries in this call (a failed test is retried with the outbox's other messages)."""
    moment = now or dt.datetime.now(dt.UTC)
    message = ChannelComposer(store, settings, search=search).compose(webhook, moment, None, test=True)
    assert message is not None  # a test message is composed even with no papers
    enqueue(store, webhook, message)
    quick = settings.model_copy(update={"webhook_retries": 0})
    return deliver_webhooks(store, quick, webhook_id=webhook.id, sleep=sleep, transport=transport)


def _votes_reason(paper: Paper) -> str:
    return f"Trending: {paper.upvotes or 0} upvotes." if paper.upvotes else "Trending: upvoted here."
