"""Signing in: web sessions, API tokens, and the events that rate limits count.

`SessionStore` shares the engine of a `SQLStore` (`store.sessions`). Secrets (session and API tokens) are
never stored: only their SHA-256, so a copy of the database signs nobody in.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from paperscope.limits import TOKEN_NAME
from paperscope.store.accounts import User, user_from_row
from paperscope.store.db import as_utc, inserted_id, utc_now, write_transaction
from paperscope.store.schema import api_tokens, throttle_events, users, web_sessions

TOKEN_PREFIX = "ps_"
# A token's last use is written at most this often, so a busy script does not write on every request.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)
# Rate-limit events older than this are deleted whatever their key (no limit looks back further).
MAX_EVENT_AGE = dt.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class ApiToken:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SessionStore:
    """Database I/O of sessions, API tokens and rate-limit events. Every method runs in its own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Sessions ---------------------------------------------------------------------------------

    def create_session(self, user_id: int, lifetime: dt.timedelta) -> str:
        """A new session for the user; returns its secret token (only its hash is stored)."""
        token = secrets.token_urlsafe(32)
        now = utc_now()
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.expires_at < now))
            conn.execute(web_sessions.insert().values(token_hash=hash_secret(token), user_id=user_id,
                                                      created_at=now, expires_at=now + lifetime))
        return token

    def session_user(self, token: str) -> User | None:
        """The user of a live session, or None for an unknown or expired token."""
        query = (sa.select(users).select_from(users.join(web_sessions, web_sessions.c.user_id == users.c.id))
                 .where(web_sessions.c.token_hash == hash_secret(token), web_sessions.c.expires_at > utc_now()))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return user_from_row(row) if row else None

    def end_session(self, token: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.token_hash == hash_secret(token)))

    def end_all_sessions(self, user_id: int) -> None:
        """Sign the user out everywhere (after a password change)."""
        with write_transaction(self.engine) as conn:
            conn.execute(web_sessions.delete().where(web_sessions.c.user_id == user_id))

    # API tokens -------------------------------------------------------------------------------

    def create_api_token(self, user_id: int, name: str) -> tuple[ApiToken, str]:
        """A new API token; returns it with its secret, which is shown once and never stored."""
        cleaned = TOKEN_NAME.check(name.strip())
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with write_transaction(self.engine) as conn:
            token_id = inserted_id(conn.execute(api_tokens.insert().values(
                user_id=user_id, name=cleaned, token_hash=hash_secret(secret), prefix=secret[:10],
                created_at=utc_now())))
            row = conn.execute(sa.select(api_tokens).where(api_tokens.c.id == token_id)).mappings().one()
        return _token_from_row(row), secret

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(api_tokens).where(api_tokens.c.user_id == user_id)
                                .order_by(api_tokens.c.created_at.desc(), api_tokens.c.id.desc())).mappings()
            return [_token_from_row(row) for row in rows]

    def revoke_api_token(self, user_id: int, token_id: int) -> bool:
        """Delete one of the user's tokens; False when the user has no such token."""
        with write_transaction(self.engine) as conn:
            deleted = conn.execute(api_tokens.delete().where(api_tokens.c.id == token_id,
                                                             api_tokens.c.user_id == user_id)).rowcount
        return bool(deleted)

    def token_user(self, secret: str) -> User | None:
        """The owner of an API token, or None; notes when the token was last used."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        digest = hash_secret(secret)
        query = (sa.select(users, api_tokens.c.id.label("token_id"), api_tokens.c.last_used_at)
                 .select_from(users.join(api_tokens, api_tokens.c.user_id == users.c.id))
                 .where(api_tokens.c.token_hash == digest))
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        now = utc_now()
        last = row["last_used_at"]
        if last is None or as_utc(last) < now - LAST_USED_RESOLUTION:
            with write_transaction(self.engine) as conn:
                conn.execute(api_tokens.update().where(api_tokens.c.id == row["token_id"])
                             .values(last_used_at=now))
        return user_from_row(row)

    def revoke_all_api_tokens(self, user_id: int) -> int:
        """Delete every API token of the user (after a password change); returns how many there were."""
        with write_transaction(self.engine) as conn:
            return int(conn.execute(api_tokens.delete().where(api_tokens.c.user_id == user_id)).rowcount)

    # Rate limits ------------------------------------------------------------------------------

    def record_event(self, *keys: str) -> None:
        """Count one event (a failed sign-in, a sign-up, a submission) under each key."""
        now = utc_now()
        with write_transaction(self.engine) as conn:
            conn.execute(throttle_events.insert(), [{"key": key[:400], "at": now} for key in keys])

    def recent_events(self, key: str, window: dt.timedelta) -> tuple[int, dt.datetime | None]:
        """How many events of `key` fell within the window, and when the oldest of them was."""
        now = utc_now()
        since = now - window
        with write_transaction(self.engine) as conn:
            conn.execute(throttle_events.delete().where(
                sa.or_(sa.and_(throttle_events.c.key == key[:400], throttle_events.c.at < since),
                       throttle_events.c.at < now - MAX_EVENT_AGE)))
            count, oldest = conn.execute(
                sa.select(sa.func.count(), sa.func.min(throttle_events.c.at))
                .where(throttle_events.c.key == key[:400], throttle_events.c.at >= since)).one()
        return int(count), as_utc(oldest) if oldest is not None else None

    def clear_events(self, key: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(throttle_events.delete().where(throttle_events.c.key == key[:400]))


def _token_from_row(row: Any) -> ApiToken:
    return ApiToken(id=row["id"], user_id=row["user_id"], name=row["name"], prefix=row["prefix"],
                    created_at=as_utc(row["created_at"]),
                    last_used_at=as_utc(row["last_used_at"]) if row["last_used_at"] else None)
