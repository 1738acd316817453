"""Security headers for every response, and a fixed-window rate limit kept in Redis."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Response
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from core.config import Config

log = logging.getLogger(__name__)


def origin_of(url: str) -> str:
    """Return the scheme://host[:port] origin of `url`, or "" if it has none."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(config: Config) -> str:
    """Build the portal's CSP: no inline code anywhere, frames only from our room server."""
    rooms = origin_of(config.rooms_url)
    # The player lives on the room server: the page frames it, and nothing else.
    frame_src = rooms or "'none'"
    media_src = " ".join(filter(None, ["'self'", rooms, "blob:"]))
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data: https:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "media-src": media_src,
        "frame-src": frame_src,
        "frame-ancestors": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def apply_security_headers(response: Response, policy: str) -> Response:
    """Set the headers every portal response carries (pages, API, static files)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", policy)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    # Older browsers ignore frame-ancestors; this says the same to them.
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


@dataclass(frozen=True)
class RateDecision:
    """The outcome of counting one request against a limit."""

    allowed: bool
    count: int
    limit: int
    retry_after_s: int


class FixedWindowLimiter:
    """Allow `limit` hits per client in each `window_s`-second window.

    A fixed window is one INCR per request and needs no cleanup: each window's key
    expires on its own. It allows a burst of up to twice the limit across a window
    boundary, which is fine for a ping endpoint.
    """

    def __init__(self, client: redis.Redis, name: str, limit: int, window_s: int) -> None:
        self.client = client
        self.name = name
        self.limit = limit
        self.window_s = window_s

    def hit(self, key: str, *, now: float | None = None) -> RateDecision:
        """Count one request from `key` and say whether it may proceed."""
        now = time.time() if now is None else now
        window = int(now // self.window_s)
        redis_key = f"ratelimit:{self.name}:{key}:{window}"
        pipe = self.client.pipeline()
        pipe.incr(redis_key)
        # Keep the key a little past its window so a slow clock never resets it early.
        pipe.expire(redis_key, self.window_s + 1)
        count = int(pipe.execute()[0])
        retry_after = max(1, int((window + 1) * self.window_s - now + 0.999))
        return RateDecision(count <= self.limit, count, self.limit, retry_after)


def limiter_for(
    client: redis.Redis, extra: Mapping[str, Any], name: str, limit: int, window_s: int
) -> FixedWindowLimiter:
    """Return the limiter `name`; `extra["<name>_rate_limit"]` and `_window_s` override."""
    return FixedWindowLimiter(
        client,
        name,
        limit=int(extra.get(f"{name}_rate_limit", limit)),
        window_s=int(extra.get(f"{name}_rate_window_s", window_s)),
    )


def enforce(limiter: FixedWindowLimiter, key: str, what: str) -> None:
    """Count one hit of `what` by `key`; raise 429 past the limit, 503 if Redis is down."""
    try:
        decision = limiter.hit(key)
    except redis.RedisError:
        # Fail closed: without the counter nothing would stop a password-guessing run.
        log.exception("rate limiter %s unavailable", limiter.name)
        raise ServiceUnavailable(
            description=f"The server cannot take {what} right now; try again in a minute."
        ) from None
    if not decision.allowed:
        raise TooManyRequests(
            description=f"Too many {what}: at most {decision.limit} per {limiter.window_s} s. "
            f"Try again in {decision.retry_after_s} s.",
            retry_after=decision.retry_after_s,
        )
