"""Digests: compose personal and trending e-mails and webhook messages, keep them in an outbox, deliver them over
SMTP and HTTP exactly once."""

from paperscope.digest.compose import Digest, DigestComposer
from paperscope.digest.delivery import DeliveryReport, deliver_outbox
from paperscope.digest.schedule import current_slot, due_subscriptions
from paperscope.digest.service import RunReport, preview, send_digests

__all__ = ["DeliveryReport", "Digest", "DigestComposer", "RunReport", "current_slot", "deliver_outbox",
           "due_subscriptions", "preview", "send_digests"]
