"""Why a liveness check failed, as a reason code a space's health keeps.

The codes are those of sources' health (core.catalog.source_health.REASON_WORDS), so
an admin reads the same words for a space that cannot be checked and a source that
cannot be read.
"""

from __future__ import annotations

import aiohttp

from core.catalog.records import Observation
from core.netguard import ForbiddenTarget
from core.webfetch import ProbeError


class CheckFailed(ProbeError):
    """A check that got an answer it cannot use, with the reason code and HTTP status."""

    def __init__(self, message: str, reason: str, status: int = 0) -> None:
        super().__init__(message)
        self.reason = reason
        self.status = status


def http_reason(status: int) -> str:
    """Return the reason code of an answer with HTTP `status` that was not the one wanted."""
    if status in (404, 410):
        return "gone"
    if status == 429:
        return "rate_limited"
    if 400 <= status < 500:
        return "http_4xx"
    if status >= 500:
        return "http_5xx"
    return "parse"  # a status no check asks for (a 2xx or 3xx it cannot read)


def http_failure(what: str, status: int) -> CheckFailed:
    """Return the failure of `what` (a page, an endpoint) answering HTTP `status`."""
    return CheckFailed(f"{what} answered HTTP {status}", http_reason(status), status)


def reason_of(error: BaseException) -> tuple[str, int]:
    """Return (reason code, HTTP status or 0) of an exception a check raised."""
    if isinstance(error, CheckFailed):
        return error.reason, error.status
    if isinstance(error, ForbiddenTarget):
        return "blocked_address", 0
    if isinstance(error, TimeoutError):
        return "timeout", 0
    if isinstance(error, aiohttp.ClientConnectorDNSError):
        return "dns", 0
    if isinstance(error, aiohttp.ClientResponseError):
        return http_reason(error.status), error.status
    if isinstance(error, aiohttp.ClientError):
        return "connect", 0
    # The fetcher's own refusals: a body over its bound, redirects it would not follow.
    if isinstance(error, ProbeError) and "larger than" in str(error):
        return "too_large", 0
    return "parse", 0


def failed(message: str, error: BaseException) -> Observation:
    """Return the Observation of a check that failed with `error`, said as `message`."""
    reason, status = reason_of(error)
    return Observation(None, error=message, reason=reason, status=status)
