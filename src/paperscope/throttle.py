"""Rate limits: how many events (failed sign-ins, sign-ups, submissions, comments) one account or one client address may
cause within a window, counted in the store's `throttle_events` (`store.sessions.record_event`).

Each limit has its own key per account or address ("sign-in:account:ada@example.org",
"submission:address:203.0.113.9"), so an account's limit never blocks another account, and an address's limit
never locks an account. The web app (`web/security.py`) decides what a limit that is reached refuses; `paperscope
users list` reads the account limits to show who is locked.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Literal

from paperscope.config import Settings
from paperscope.store.sessions import SessionStore

HOUR = dt.timedelta(hours=1)
NEW_ACCOUNT_AGE = dt.timedelta(days=1)  # accounts younger than this may post fewer comments


@dataclass(frozen=True, slots=True)
class Limit:
    """At most `allowed` events of `action` per account or per address within `window`."""

    action: Literal["sign-in", "sign-up", "submission", "comment"]
    per: Literal["account", "address"]
    allowed: int
    window: dt.timedelta

    def key(self, who: str) -> str:
        """The events' key for this account (an e-mail address, any case) or client address."""
        return f"{self.action}:{self.per}:{who.strip().lower()}"


def sign_in_limits(settings: Settings) -> tuple[Limit, Limit]:
    """Failed sign-ins per account (past it the account is locked) and per address."""
    window = dt.timedelta(seconds=settings.sign_in_window_seconds)
    return (Limit("sign-in", "account", settings.sign_in_attempts, window),
            Limit("sign-in", "address", settings.sign_in_address_attempts, window))


def sign_up_limit(settings: Settings) -> Limit:
    return Limit("sign-up", "address", settings.sign_ups_per_hour, HOUR)


def submission_limits(settings: Settings) -> tuple[Limit, Limit]:
    return (Limit("submission", "account", settings.submissions_per_hour, HOUR),
            Limit("submission", "address", settings.submissions_per_hour_per_address, HOUR))


def is_new_account(created_at: dt.datetime) -> bool:
    """Whether an account created then is younger than `NEW_ACCOUNT_AGE` (and so rate-limited harder)."""
    return dt.datetime.now(dt.UTC) - created_at < NEW_ACCOUNT_AGE


def comment_limits(settings: Settings, account_created: dt.datetime) -> tuple[Limit, Limit]:
    """Comments per account (fewer for an account younger than `NEW_ACCOUNT_AGE`) and per address."""
    young = is_new_account(account_created)
    allowed = settings.comments_per_hour_new_account if young else settings.comments_per_hour
    return (Limit("comment", "account", allowed, HOUR),
            Limit("comment", "address", settings.comments_per_hour_per_address, HOUR))


@dataclass(frozen=True, slots=True)
class Usage:
    """How much of a limit one account or address has used: events in the window, and the seconds until the
    next one is allowed (0 while below the limit)."""

    events: int
    wait_seconds: int


def usage(events: SessionStore, limit: Limit, who: str) -> Usage:
    count, oldest = events.recent_events(limit.key(who), limit.window)
    if count < limit.allowed or oldest is None:
        return Usage(count, 0)
    remaining = (oldest + limit.window - dt.datetime.now(dt.UTC)).total_seconds()
    return Usage(count, max(1, math.ceil(remaining)))


def wait_seconds(events: SessionStore, *checks: tuple[Limit, str]) -> int:
    """Seconds until each (limit, who) allows one more event; 0 when all allow one now."""
    return max((usage(events, limit, who).wait_seconds for limit, who in checks), default=0)


def record(events: SessionStore, *checks: tuple[Limit, str]) -> None:
    """Count one event under each (limit, who)."""
    events.record_event(*(limit.key(who) for limit, who in checks))


def take(events: SessionStore, *checks: tuple[Limit, str]) -> int:
    """Count one event under each limit when all allow it, and return 0; else count nothing and return the
    seconds to wait."""
    wait = wait_seconds(events, *checks)
    if not wait:
        record(events, *checks)
    return wait
