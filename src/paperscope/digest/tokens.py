"""Signed, dated unsubscribe tokens (itsdangerous): no database lookup, nothing to forge without the key.

The key is the one that signs the web app's sessions (`Services.settings.secret_key`): PAPERSCOPE_SECRET_KEY, or,
in development with a placeholder, a random key of the server process. A placeholder never signs a token
(`signing_key`), since anybody could forge a link signed with it.
"""

from __future__ import annotations

import datetime as dt

from itsdangerous import BadSignature, URLSafeSerializer

from paperscope.config import Settings
from paperscope.errors import ExpiredLink

_SALT = "paperscope.unsubscribe"


def signing_key(settings: Settings) -> str | None:
    """The key that signs unsubscribe links, or None when the configured one is a placeholder."""
    return None if settings.has_placeholder_secret() else settings.secret_key


def unsubscribe_token(secret_key: str, user_id: int, email: str, *, issued_at: dt.datetime | None = None) -> str:
    """A token naming the user and the day it was made; it carries the address, so a token never unsubscribes
    a later account that reuses the id."""
    issued = int((issued_at or dt.datetime.now(dt.UTC)).timestamp())
    return str(URLSafeSerializer(secret_key, salt=_SALT).dumps({"u": user_id, "e": email, "t": issued}))


def read_unsubscribe_token(secret_key: str, token: str, *, lifetime: dt.timedelta,
                           now: dt.datetime | None = None) -> tuple[int, str] | None:
    """(user id, e-mail) of a valid token, or None for a forged, damaged or foreign one; ExpiredLink for a
    genuine one older than `lifetime`."""
    try:
        data = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        return None
    issued = data.get("t")
    if not isinstance(issued, int):
        raise ExpiredLink("the link has no date")
    age = (now or dt.datetime.now(dt.UTC)) - dt.datetime.fromtimestamp(issued, dt.UTC)
    if age > lifetime:
        raise ExpiredLink(f"the link is {age.days} days old")
    return data["u"], data["e"]
