"""When a subscription's next digest is due: a local hour of the day (every day, or one weekday a week)."""

from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from paperscope.store import Store
from paperscope.store.digests import Subscription


class Schedule(Protocol):
    """What has a schedule: an e-mail subscription, or a webhook (store/webhooks.py)."""

    @property
    def timezone(self) -> str: ...
    @property
    def frequency(self) -> str: ...
    @property
    def hour(self) -> int: ...
    @property
    def weekday(self) -> int: ...
    @property
    def active(self) -> bool: ...
    @property
    def last_slot(self) -> dt.datetime | None: ...


def user_zone(name: str) -> dt.tzinfo:
    """The user's time zone; UTC when the stored name is unknown to this machine's tz database."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def current_slot(subscription: Schedule, now: dt.datetime) -> dt.datetime:
    """The latest scheduled moment at or before `now` (UTC): today's (or this week's) local hour, else the
    previous day's (or week's)."""
    zone = user_zone(subscription.timezone)
    local_now = now.astimezone(zone)
    slot = dt.datetime.combine(local_now.date(), dt.time(subscription.hour), tzinfo=zone)
    if subscription.frequency == "weekly":
        slot -= dt.timedelta(days=(local_now.weekday() - subscription.weekday) % 7)
        if slot > local_now:
            slot -= dt.timedelta(days=7)
    elif slot > local_now:
        slot -= dt.timedelta(days=1)
    # Across a daylight-saving change the wall-clock hour may not exist or exist twice; fold to UTC as is.
    return slot.astimezone(dt.UTC)


def period_length(subscription: Schedule) -> dt.timedelta:
    return dt.timedelta(days=7 if subscription.frequency == "weekly" else 1)


def is_due(subscription: Schedule, now: dt.datetime) -> bool:
    """Active, and no digest composed for the current slot yet."""
    if not subscription.active:
        return False
    last = subscription.last_slot
    return last is None or last < current_slot(subscription, now)


def due_subscriptions(store: Store, now: dt.datetime | None = None) -> list[Subscription]:
    """Active subscriptions whose digest is due at `now` (default: the current time); what the web app's
    scheduler or a cron job running `paperscope digest send` acts on."""
    moment = now or dt.datetime.now(dt.UTC)
    return [s for s in store.digests.list_subscriptions(active_only=True) if is_due(s, moment)]
