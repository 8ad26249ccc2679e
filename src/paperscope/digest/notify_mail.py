"""E-mail about notifications (discussion/notify.py): the "Replies and mentions" section of a digest, and the
one message per notification of a user who chose "immediate".

Immediate messages go through the digest outbox, so delivery is the digests' own (exactly once, retried,
`deliver_outbox`): each is stored with the idempotency key `notify:USER:COMMENT` and the notification's
`emailed_at` in one transaction, by every outbox run (`paperscope digest send`, the background jobs), before
the outbox is delivered.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr, parseaddr

from paperscope.config import Settings
from paperscope.discussion.wording import KIND_TEXT, comment_excerpt
from paperscope.store import Store
from paperscope.store.notifications import Notification
from paperscope.text import plain_text

EXCERPT_CHARS = 280


@dataclass(frozen=True, slots=True)
class NotificationLine:
    """A notification as an e-mail shows it: what happened, a plain excerpt of the comment, the link to it."""

    id: int
    what: str  # "@ann replied to your comment on"
    paper_title: str
    excerpt: str
    url: str


def comment_url(base_url: str, paper_id: str, comment_id: int) -> str:
    return f"{base_url.rstrip('/')}/papers/{paper_id}#comment-{comment_id}"


def notification_line(notification: Notification, base_url: str) -> NotificationLine:
    return NotificationLine(id=notification.id, what=f"{notification.who} {KIND_TEXT[notification.kind]}",
                            paper_title=" ".join(plain_text(notification.paper_title).split()),
                            excerpt=comment_excerpt(notification.body, EXCERPT_CHARS),
                            url=comment_url(base_url, notification.paper_id, notification.comment_id))


def immediate_message(settings: Settings, recipient: str, line: NotificationLine, now: dt.datetime,
                      key: str) -> EmailMessage:
    """The plain-text message telling of one notification."""
    base_url = settings.base_url.rstrip("/")
    sender = parseaddr(settings.mail_from)[1] or settings.mail_from
    domain = sender.rpartition("@")[2] or "localhost"
    message = EmailMessage()
    message["Subject"] = f"paperscope: {line.what} “{line.paper_title[:120]}”"
    message["From"] = formataddr(("paperscope", sender))
    message["To"] = recipient
    message["Date"] = format_datetime(now.astimezone(dt.UTC))
    message["Message-ID"] = f"<{key.replace(':', '.')}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"
    body = (f"{line.what} “{line.paper_title}”:\n\n{line.excerpt}\n\nRead and answer: {line.url}\n\n--\n"
            f"You get one e-mail per reply or mention because you chose so on {base_url}/me#notifications;\n"
            f"choose the digest or no e-mail there. All your notifications: {base_url}/notifications\n")
    message.set_content(body, cte="quoted-printable")
    return message


def queue_immediate_notifications(store: Store, settings: Settings, now: dt.datetime | None = None) -> int:
    """Put one message per not yet e-mailed notification of the users who chose "immediate" into the outbox
    (and mark it e-mailed, in the same transaction); returns how many were queued."""
    moment = now or dt.datetime.now(dt.UTC)
    queued = 0
    for recipient, notification in store.notifications.for_immediate_email(moment):
        key = f"notify:{recipient.user_id}:{notification.comment_id}"
        line = notification_line(notification, settings.base_url)
        message = immediate_message(settings, recipient.email, line, moment, key)
        if store.digests.enqueue(user_id=recipient.user_id, idempotency_key=key, recipient=recipient.email,
                                 subject=str(message["Subject"]), message=message.as_string(policy=SMTP),
                                 paper_ids=[], slot=None, composed_at=moment,
                                 notification_ids=[notification.id]) is not None:
            queued += 1
    return queued
