"""Sessions, CSRF tokens, sign-in throttling and API tokens for the web app.

* The session cookie is signed (itsdangerous, via Starlette's SessionMiddleware), HttpOnly and
  SameSite=Lax; it carries a random session token whose hash the store keeps (`store.sessions`), so signing
  out (or a password change) ends the session on the server too, and a CSRF token.
* Every state-changing form posts the CSRF token; `require_csrf` compares it in constant time.
* Failed sign-ins are counted per account and per client address (`paperscope.throttle`); see
  `sign_in_wait` for what each limit refuses. The client address is the connection's, or, behind a proxy listed
  in PAPERSCOPE_TRUSTED_PROXIES, the one it forwarded (uvicorn's ProxyHeadersMiddleware, in `web.app`).
* Scripts authenticate with `Authorization: Bearer ps_...` API tokens (hashes stored, shown once), and with
  nothing else: the private feed token is only read from the feed's own path.
* Status messages after a redirect travel in the session (`flash`), shown once, never in the URL.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from paperscope import throttle
from paperscope.store.accounts import User
from paperscope.web.services import Services

SESSION_COOKIE = "paperscope_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Accounts that signed in from this browser before (their user ids, in the signed session cookie); kept
# across sign-in and sign-out, newest last.
KNOWN_ACCOUNTS = "known"
MAX_KNOWN_ACCOUNTS = 10
MAX_FLASHES = 5


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
    known = [i for i in _known_accounts(request) if i != user.id][-(MAX_KNOWN_ACCOUNTS - 1):] + [user.id]
    flashes = request.session.get("flash")
    request.session.clear()
    request.session["sid"] = services.store.sessions.create_session(
        user.id, dt.timedelta(days=services.settings.session_days))
    request.session["csrf"] = secrets.token_urlsafe(32)
    request.session[KNOWN_ACCOUNTS] = known
    if flashes:
        request.session["flash"] = flashes
    request.state.user = user


def sign_out(request: Request, services: Services) -> None:
    token = request.session.get("sid")
    if isinstance(token, str):
        services.store.sessions.end_session(token)
    known = _known_accounts(request)
    request.session.clear()
    if known:
        request.session[KNOWN_ACCOUNTS] = known
    request.state.user = None


def _known_accounts(request: Request) -> list[int]:
    known = request.session.get(KNOWN_ACCOUNTS)
    return [i for i in known if isinstance(i, int)] if isinstance(known, list) else []


def client_address(request: Request) -> str:
    """The client's address: the connection's, or the one a trusted proxy forwarded."""
    return request.client.host if request.client else "unknown"


def sign_in_wait(request: Request, services: Services, email: str, user: User | None) -> int:
    """Seconds until this browser may try a password for this account again; 0 when it may now.

    * An account with too many failed sign-ins (from any address) is locked for everyone until the window
      has passed: that is what bounds guessing one account's password.
    * An address with too many failed sign-ins (over any accounts) may still sign in to the accounts that
      signed in from this browser before (the session remembers them), and to no other: that bounds credential
      stuffing (one guess each at many accounts) from one address without locking out the people behind it
      who are signing in to their usual account. The refusal comes before the password is checked, so a
      throttled client learns nothing about any password.
    """
    events = services.store.sessions
    account, address = throttle.sign_in_limits(services.settings)
    checks = [(account, email)]
    if user is None or user.id not in _known_accounts(request):
        checks.append((address, client_address(request)))
    return throttle.wait_seconds(events, *checks)


def record_sign_in_failure(request: Request, services: Services, email: str) -> None:
    account, address = throttle.sign_in_limits(services.settings)
    throttle.record(services.store.sessions, (account, email), (address, client_address(request)))


def clear_sign_in_failures(services: Services, email: str) -> None:
    """Forget an account's failed sign-ins (after its right password); the address keeps its count."""
    account, _ = throttle.sign_in_limits(services.settings)
    services.store.sessions.clear_events(account.key(email))


def take_submission(request: Request, services: Services, user: User) -> int:
    """Count a submission against the account's and the address's hourly limits; the seconds to wait instead
    (nothing counted) when either is reached. Called before the id is read or arXiv is asked."""
    account, address = throttle.submission_limits(services.settings)
    return throttle.take(services.store.sessions, (account, user.email), (address, client_address(request)))


def too_many(what: str, wait: int) -> HTTPException:
    """A 429 whose message says when to try again, with `Retry-After`."""
    minutes = max(1, round(wait / 60))
    when = f"{wait} seconds" if wait < 90 else f"about {minutes} minutes"
    return HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, f"Too many {what}. Try again in {when}.",
                         headers={"Retry-After": str(wait)})


def flash(request: Request, message: str) -> None:
    """A status message for the next page this browser shows (once)."""
    messages = request.session.get("flash")
    queue = [m for m in messages if isinstance(m, str)] if isinstance(messages, list) else []
    request.session["flash"] = [*queue, message][-MAX_FLASHES:]


def take_flashes(request: Request) -> list[str]:
    """The status messages waiting for this browser; they are shown once."""
    if "flash" not in request.session:
        return []
    messages = request.session.pop("flash")
    return [m for m in messages if isinstance(m, str)] if isinstance(messages, list) else []


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
