"""Signed unsubscribe tokens (itsdangerous, keyed by PAPERSCOPE_SECRET_KEY): no database lookup to forge."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

_SALT = "paperscope.unsubscribe"


def unsubscribe_token(secret_key: str, user_id: int, email: str) -> str:
    """A token naming the user; it carries the address, so a token never unsubscribes a later account
    that reuses the id."""
    return str(URLSafeSerializer(secret_key, salt=_SALT).dumps({"u": user_id, "e": email}))


def read_unsubscribe_token(secret_key: str, token: str) -> tuple[int, str] | None:
    """(user id, e-mail) of a valid token, or None for a forged, damaged or foreign one."""
    try:
        data = URLSafeSerializer(secret_key, salt=_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        return None
    return data["u"], data["e"]
