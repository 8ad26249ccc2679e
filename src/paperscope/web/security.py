"""Sessions, CSRF tokens, sign-in throttling and API tokens for the web app.

* The session cookie is signed (itsdangerous, via Starlette's SessionMiddleware), HttpOnly and
  SameSite=Lax; it carries a random session token whose hash the store keeps (`store.sessions`), so signing
  out (or a password change) ends the session on the server too, and a CSRF token.
* Every state-changing form posts the CSRF token; `require_csrf` compares it in constant time.
* Failed sign-ins are counted per account and per client address; past the limit, sign-in answers 429.
* Scripts authenticate with `Authorization: Bearer ps_...` API tokens (hashes stored, shown once).
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from paperscope.store.accounts import User
from paperscope.web.services import Services

SESSION_COOKIE = "paperscope_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def require_csrf(request: Request) -> None:
    """Refuse (403) a state-changing request whose CSRF token is missing or not this session's."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    expected = request.session.get("csrf")
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        raise HTTPException(status.HTTP_403_FORBIDDEN,
                            "The form's security token is missing or out of date (CSRF check). Reload the page "
                            "and submit it again.")


def session_user(request: Request, services: Services) -> User | None:
    """The signed-in user of this request, looked up once per request."""
    if hasattr(request.state, "user"):
        user: User | None = request.state.user
        return user
    token = request.session.get("sid")
    user = services.store.sessions.session_user(token) if isinstance(token, str) else None
    if token is not None and user is None:
        request.session.pop("sid", None)  # expired or ended elsewhere
    request.state.user = user
    return user


def sign_in(request: Request, services: Services, user: User) -> None:
    """Start a session: a new server session, and a new CSRF token (no fixation of the old one)."""
    old = request.session.get("sid")
    if isinstance(old, str):
        services.store.sessions.end_session(old)
    request.session.clear()
    request.session["sid"] = services.store.sessions.create_session(
        user.id, dt.timedelta(days=services.settings.session_days))
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.state.user = user


def sign_out(request: Request, services: Services) -> None:
    token = request.session.get("sid")
    if isinstance(token, str):
        services.store.sessions.end_session(token)
    request.session.clear()
    request.state.user = None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def sign_in_wait(services: Services, email: str, address: str) -> int:
    """Seconds until sign-in may be tried again for this account or address; 0 when it may now."""
    settings = services.settings
    window = dt.timedelta(seconds=settings.sign_in_window_seconds)
    wait = 0
    for key in throttle_keys(email, address):
        count, oldest = services.store.sessions.recent_sign_in_failures(key, window)
        if count >= settings.sign_in_attempts and oldest is not None:
            remaining = oldest + window - dt.datetime.now(dt.UTC)
            wait = max(wait, int(remaining.total_seconds()) + 1)
    return wait


def throttle_keys(email: str, address: str) -> tuple[str, str]:
    return f"account:{email.strip().lower()}", f"client:{address}"


def bearer_user(request: Request, services: Services) -> User | None:
    """The owner of the request's `Authorization: Bearer` API token; 401 for a token that is not valid."""
    header = request.headers.get("Authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Send an API token as 'Authorization: Bearer ps_...'.",
                            headers={"WWW-Authenticate": "Bearer"})
    user = services.store.sessions.token_user(token.strip())
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "This API token is not valid (revoked or mistyped); "
                            "create one on your settings page.", headers={"WWW-Authenticate": "Bearer"})
    return user


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target only when it is a path on this site (no open redirects)."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
