"""When to check a space next: often while live, near its start when scheduled."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.catalog.states import State

MAX_BACKOFF_S = 3600.0
SCHEDULED_POLL_S = 300.0
ENDED_RECHECK_S = 600.0
#: Failed checks of a finished space worth retrying before it is left alone.
FINISHED_RETRIES = 3


def next_check_after(
    space: Any, now: datetime, interval_s: float, *, failed: bool, previous: State | None = None
) -> datetime | None:
    """Return when `space` should next be checked, or None to stop checking it."""
    state = State(space.state)
    if failed:
        if state in (State.ENDED, State.GONE) and space.check_failures >= FINISHED_RETRIES:
            # A finished space whose page broke is not worth hourly checks forever.
            return None
        # Back off exponentially from the state's own interval, capped at an hour.
        base = interval_s if state in (State.LIVE, State.UNKNOWN) else SCHEDULED_POLL_S
        delay = min(base * 2 ** min(space.check_failures - 1, 12), MAX_BACKOFF_S)
        return now + timedelta(seconds=delay)
    if state == State.LIVE:
        return now + timedelta(seconds=interval_s)
    if state == State.SCHEDULED:
        start: datetime | None = space.scheduled_start
        if start is None:
            return now + timedelta(seconds=SCHEDULED_POLL_S)
        if start > now:
            # Every few minutes until the start, and a look right at it.
            return min(start, now + timedelta(seconds=SCHEDULED_POLL_S))
        # Past its start it may go live any moment: watch it like a live one.
        return now + timedelta(seconds=interval_s)
    if state == State.ENDED:
        # One more look after ~10 minutes, because a host can resume; then stop.
        if previous != State.ENDED:
            return now + timedelta(seconds=ENDED_RECHECK_S)
        return None
    if state == State.GONE:
        return None
    return now + timedelta(seconds=interval_s)
