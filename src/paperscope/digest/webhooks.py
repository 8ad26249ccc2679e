"""Deliver webhook messages from the outbox: one POST each, exactly once per slot, over crashes and restarts.

A message is composed in full into the outbox (`digest/channels.py`), claimed before its request goes out (state
`sending`, with host, process id and a lease, as e-mail is: `digest/delivery.py`) and marked `sent` on a 2xx
answer. Unlike an SMTP server, a chat service acts on a request as soon as it has read it, and none of them
can tell a repeat: so a request that may have reached the endpoint is never sent again
(docs/decisions/0106-webhook-delivery-at-most-once-when-unsure.md):

* no connection (refused, reset, connect timeout), or an answer worth retrying (408, 429, 5xx): temporary.
  Retried in the same run after `webhook_backoff_seconds`, doubling (a `Retry-After` answer is followed, up to
  10 minutes), `webhook_retries` times; then left `pending` for a later run, and `failed` after
  `webhook_max_attempts` attempts in all.
* any other answer (a redirect, 400, 401, 403, 404, 410, ...): permanent, the message is `failed` at once.
* the request went out and no answer came (read timeout, connection closed), or a sender that was killed left
  the message `sending`: the outcome is unknown, the message is `failed` and not repeated.

Each failed request counts against the webhook; a 2xx answer resets the count. At `webhook_disable_after`
failures in a row the webhook is disabled and its queued messages given up; the run reports it, the account page
shows it and its owner turns it on again. The `json` format is signed: `X-Paperscope-Signature-256:
sha256=HEX`, the HMAC-SHA256 of the raw body under the webhook's secret. URLs are shown and logged only as
`redacted_url` gives them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import time
from collections.abc import Mapping

import httpx

from paperscope.config import Settings
from paperscope.digest.delivery import DeliveryReport, Sleep, abandoned, claimant_id
from paperscope.errors import NoAnswer, PermanentFailure, RetryLater, TemporaryFailure
from paperscope.http import USER_AGENT
from paperscope.store import Store
from paperscope.store.digests import OutboxMessage
from paperscope.store.webhooks import Webhook
from paperscope.text import printable

SIGNATURE_HEADER = "X-Paperscope-Signature-256"
DELIVERY_HEADER = "X-Paperscope-Delivery"
RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})
MAX_RETRY_AFTER = 600.0
TEST_KEY_PREFIX = "webhook-test:"
UNKNOWN_OUTCOME = ("the sender stopped while the request was out, so it may have arrived; not sent again, since "
                   "a chat channel cannot tell a repeat")


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str) -> bool:
    """What a receiver does: recompute the signature over the raw body and compare in constant time."""
    return hmac.compare_digest(signature(secret, body), header.strip())


def request_headers(webhook: Webhook, message: OutboxMessage, body: bytes) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               DELIVERY_HEADER: message.idempotency_key}
    if webhook.format == "json":
        headers[SIGNATURE_HEADER] = signature(webhook.secret, body)
    return headers


class WebhookClient:
    """POSTs webhook bodies: no redirects followed, one timeout for connecting and for the answer."""

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None) -> None:
        self._client = httpx.Client(timeout=settings.webhook_timeout_seconds, follow_redirects=False,
                                    transport=transport)

    def post(self, webhook: Webhook, message: OutboxMessage) -> None:
        """Send one message; raises TemporaryFailure, PermanentFailure or NoAnswer."""
        body = message.message.encode("utf-8")
        try:
            answer = self._client.post(webhook.url, content=body, headers=request_headers(webhook, message, body))
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
                httpx.WriteTimeout) as exc:
            raise TemporaryFailure(f"no connection ({_described(exc, webhook)})") from exc
        except (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError) as exc:
            raise NoAnswer(f"the request went out but no answer came ({_described(exc, webhook)}); it may have "
                           "arrived, so it is not sent again") from exc
        except httpx.HTTPError as exc:
            raise PermanentFailure(f"the request failed ({_described(exc, webhook)})") from exc
        status = answer.status_code
        if 200 <= status < 300:
            return
        # The reason phrase is the endpoint's text: shown without control characters, and short.
        said = f"answered {status} {printable(answer.reason_phrase)[:100]}".rstrip()
        if status in RETRY_STATUS:
            raise RetryLater(said, _retry_after(answer.headers))
        if 300 <= status < 400:
            raise PermanentFailure(f"{said} (a redirect, not followed): give the webhook's final URL")
        raise PermanentFailure(said)

    def close(self) -> None:
        self._client.close()


def deliver_webhooks(store: Store, settings: Settings, *, webhook_id: int | None = None, user_id: int | None = None,
                     now: dt.datetime | None = None, sleep: Sleep = time.sleep,
                     transport: httpx.BaseTransport | None = None) -> DeliveryReport:
    """POST every webhook message that is due, oldest first; see the module docstring for failures."""
    report = DeliveryReport()
    moment = now or _now()
    messages = store.webhooks.deliverable(moment, webhook_id=webhook_id, user_id=user_id)
    if not messages:
        return report
    client = WebhookClient(settings, transport)
    me = claimant_id()
    try:
        for message in messages:
            webhook = store.webhooks.get(message.webhook_id) if message.webhook_id is not None else None
            if webhook is None:
                continue  # removed meanwhile (its messages go with it)
            if message.state == "sending":
                if abandoned(message, moment):
                    _give_up(store, report, message, webhook, UNKNOWN_OUTCOME)
                continue  # else another live process is sending it
            if not webhook.active and not message.idempotency_key.startswith(TEST_KEY_PREFIX):
                _give_up(store, report, message, webhook, "not sent: the webhook is disabled")
                continue
            _deliver_one(store, settings, client, message, webhook, me, sleep, report)
    finally:
        client.close()
    return report


def _deliver_one(store: Store, settings: Settings, client: WebhookClient, message: OutboxMessage, webhook: Webhook,
                 me: str, sleep: Sleep, report: DeliveryReport) -> None:
    lease = dt.timedelta(seconds=settings.webhook_timeout_seconds * 2 + 60)
    delay = settings.webhook_backoff_seconds
    current = message
    for attempt in range(settings.webhook_retries + 1):
        claimed = store.digests.claim(current, me, _now() + lease)
        if claimed is None:
            return  # taken by another process meanwhile
        try:
            client.post(webhook, claimed)
        except PermanentFailure as exc:
            _failed_request(store, settings, report, claimed, webhook, str(exc))
            return
        except TemporaryFailure as exc:
            error = str(exc)
            if _failed_request(store, settings, report, claimed, webhook, error,
                               give_up=claimed.attempts >= settings.webhook_max_attempts):
                return
            asked = exc.after if isinstance(exc, RetryLater) else None
            wait = min(MAX_RETRY_AFTER, max(delay, asked or 0.0))
            store.digests.mark_retry(claimed.id, error, _now() + dt.timedelta(seconds=wait))
            if attempt == settings.webhook_retries:
                report.retry_later.append(claimed.id)
                report.errors.append(f"webhook {webhook.id} ({webhook.shown_url}): {error} (will retry)")
                return
            sleep(wait)
            delay *= 2
            found = store.digests.get_message(claimed.id)
            if found is None or found.state != "pending":
                return
            current = found
            continue
        store.digests.mark_sent(claimed.id)
        store.webhooks.record_success(webhook.id)
        report.sent.append(claimed.id)
        return


def _failed_request(store: Store, settings: Settings, report: DeliveryReport, message: OutboxMessage,
                    webhook: Webhook, error: str, *, give_up: bool = True) -> bool:
    """Count a failed request against the webhook; fail the message when `give_up` or when this failure disabled
    the webhook. Returns whether the message was failed."""
    disabled = store.webhooks.record_failure(webhook.id, error, disable_after=settings.webhook_disable_after)
    if not (give_up or disabled):
        return False
    note = (f" (given up after {message.attempts} attempts)" if give_up and message.attempts > 1 else " (given up)")
    if disabled:
        note += (f"; the webhook is now disabled after {settings.webhook_disable_after} failed requests in a row: "
                 "its owner turns it on again on the account page")
    _give_up(store, report, message, webhook, error + note)
    return True


def _give_up(store: Store, report: DeliveryReport, message: OutboxMessage, webhook: Webhook, error: str) -> None:
    store.digests.mark_failed(message.id, error)
    report.failed.append(message.id)
    report.errors.append(f"webhook {webhook.id} ({webhook.shown_url}): {error}")


def _described(exc: Exception, webhook: Webhook) -> str:
    """An httpx error in words, without the webhook's URL (its path is the secret)."""
    text = printable(str(exc).replace(webhook.url, webhook.shown_url))[:300] or "no details"
    return f"{type(exc).__name__}: {text}"


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After", "").strip()
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None  # an HTTP date: the backoff decides


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
