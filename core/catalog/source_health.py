"""How a source's health is kept: its last good fetch, failures in a row, backoff, pausing.

Kept the way Radio Browser and Podcast Index keep theirs: a reason code per failure,
an exponential backoff while a source keeps failing, and a pause (with its reason) once
it has been broken for days, so a dead source stops costing polls but stays listed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.catalog.models import Source
from core.catalog.websub import effective_interval

#: Each reason code a failed fetch can carry, as an admin reads it.
REASON_WORDS = {
    "robots": "robots.txt forbids reading it",
    "http_4xx": "the server refused the request (HTTP 4xx)",
    "http_5xx": "the server failed to answer (HTTP 5xx)",
    "dns": "its host name does not resolve",
    "connect": "no connection to the server",
    "blocked_address": "it resolves to a private or reserved address",
    "parse": "the answer is not what the protocol says",
    "timeout": "no answer in time",
    "gone": "it is gone (HTTP 404 or 410)",
    "too_large": "the answer is too large",
    "rate_limited": "the server asks us to slow down (rate limited)",
    "refused": "its content was refused (forged, unsigned or flooding)",
}
#: A failing source is read again no later than this, however long its backoff grew.
MAX_BACKOFF = timedelta(hours=6)
#: A source failing this long without one good fetch, and this many times in a row, is paused.
BROKEN_AFTER = timedelta(days=3)
BROKEN_FAILURES = 5


def reason_words(reason: str) -> str:
    """Return a reason code in words (an unknown code as it is)."""
    return REASON_WORDS.get(reason, reason)


def record_success(source: Source, *, now: datetime) -> None:
    """Note a good fetch: failures are forgotten and the next run is one interval away.

    A feed whose hub pushes its updates is polled rarely, as a safety net.
    """
    source.last_ok_at = now
    source.failures = 0
    source.reason = ""
    source.next_run_at = now + timedelta(seconds=effective_interval(source, now))


def record_failure(
    source: Source, reason: str, *, now: datetime, retry_after_s: float = 0.0
) -> None:
    """Note a failed fetch: back off exponentially, and pause a source broken for days."""
    source.failures += 1
    source.reason = reason
    source.next_run_at = now + backoff(source.interval_s, source.failures, retry_after_s)
    since = source.last_ok_at or source.created_at
    if source.failures >= BROKEN_FAILURES and since is not None and now - since >= BROKEN_AFTER:
        source.paused = True
        source.paused_reason = f"broken since {since:%Y-%m-%d %H:%M} UTC ({reason})"[:200]


def backoff(interval_s: int, failures: int, retry_after_s: float = 0.0) -> timedelta:
    """Return the wait before the next try: the interval doubled per failure, within bounds.

    Never more than MAX_BACKOFF (unless the interval itself is longer: a failing source
    is not read more often than a healthy one), and never less than the server's
    Retry-After.
    """
    # 2**failures overflows nothing in Python, but a timedelta of it would: cap the exponent.
    grown = interval_s * 2 ** min(failures, 32)
    wait = max(float(interval_s), min(float(grown), MAX_BACKOFF.total_seconds()))
    return timedelta(seconds=max(wait, retry_after_s))


def trouble_rank(source: Source) -> tuple[int, int, int]:
    """Return a sort key putting sources paused by health first, then failing ones."""
    if source.paused and source.paused_reason:
        return (0, -source.failures, source.id)
    if source.failures:
        return (1, -source.failures, source.id)
    return (2, 0, source.id)


def clear_health_pause(source: Source) -> None:
    """Forget a pause for ill health when an admin resumes: the source gets a fresh start."""
    if source.paused_reason:
        source.paused_reason = ""
        source.failures = 0
