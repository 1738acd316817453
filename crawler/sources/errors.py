"""Why a source failed: a reason code an admin can read, and the error that carries it."""

from __future__ import annotations

#: Why a source or a fetch failed, as stored in the catalog and shown to admins.
REASONS = (
    "robots",  # robots.txt disallows it
    "http_4xx",
    "http_5xx",
    "dns",  # the name does not resolve
    "connect",  # no connection (refused, reset)
    "blocked_address",  # it resolves to a private or reserved address
    "parse",  # the answer is not what the protocol says
    "timeout",
    "gone",  # 404 or 410: the source is no more
    "too_large",
    "rate_limited",  # 429, or a Retry-After to honour
    "refused",  # refused on purpose: forged, unsigned, flooding
)


class SourceError(Exception):
    """A poll that failed: `reason` is one of REASONS, the message says what to do."""

    def __init__(
        self, reason: str, message: str, *, status: int = 0, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message)
        self.reason = reason if reason in REASONS else "parse"
        self.status = status
        self.retry_after_s = retry_after_s
