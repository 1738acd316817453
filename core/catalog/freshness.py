"""How far to trust what the catalog says about a space: fresh, unverified or stale."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy import ColumnElement, func

from core.catalog.models import Space
from core.catalog.states import State

#: Consecutive failed checks after which a live space shows as unverified.
UNVERIFIED_AFTER_FAILURES = 3
#: Intervals without a successful check after which "live" is no longer believed.
STALE_AFTER_INTERVALS = 3
#: Reasons a check fails without reaching the space's source: no connection, no answer in
#: time, or a server (or the proxy before it) failing. One such check is enough to say so:
#: the next one is a backed-off interval away.
UNREACHED_REASONS = frozenset({"connect", "dns", "timeout", "http_5xx"})


class Freshness(StrEnum):
    FRESH = "fresh"  # the last checks answered
    UNVERIFIED = "unverified"  # the last few checks failed; the state may be out of date
    STALE = "stale"  # live, but not confirmed for too long: leave it out of "live now"
    UNREACHABLE = "unreachable"  # live, but the last check could not reach its source


class Confirmable(Protocol):
    """What freshness reads of a space: its state, and when and how it was last confirmed."""

    @property
    def state(self) -> str: ...

    @property
    def check_failures(self) -> int: ...

    @property
    def last_verified_at(self) -> datetime | None: ...

    @property
    def updated_at(self) -> datetime | None: ...

    @property
    def check_reason(self) -> str: ...


def trusted_at(space: Confirmable) -> datetime | None:
    """Return when `space`'s state was last confirmed: checked, or else written by a crawl."""
    return space.last_verified_at or space.updated_at


def trusted_at_column() -> ColumnElement[datetime]:
    """Return `trusted_at` as a SQL expression over the spaces table."""
    return func.coalesce(Space.last_verified_at, Space.updated_at)


def freshness(space: Confirmable, now: datetime, interval_s: float) -> Freshness:
    """Say how far to trust `space`'s state at `now`, given the live check interval."""
    if State(space.state) == State.LIVE:
        confirmed = trusted_at(space)
        if confirmed is None or confirmed < verified_since(now, interval_s):
            return Freshness.STALE
        if unreachable(space):
            return Freshness.UNREACHABLE
    if (space.check_failures or 0) >= UNVERIFIED_AFTER_FAILURES:
        return Freshness.UNVERIFIED
    return Freshness.FRESH


def unreachable(space: Confirmable) -> bool:
    """Say whether the last check of `space` failed to reach its source (see UNREACHED_REASONS)."""
    return (space.check_failures or 0) > 0 and space.check_reason in UNREACHED_REASONS


def verified_since(now: datetime, interval_s: float) -> datetime:
    """Return the oldest confirmation time that still counts a live space as live now."""
    return now - timedelta(seconds=STALE_AFTER_INTERVALS * interval_s)
