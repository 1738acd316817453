"""Security headers for every response, and a fixed-window rate limit kept in Redis."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import redis
from flask import Response
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from core.config import Config

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

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


def security_headers(policy: str) -> list[tuple[str, str]]:
    """Return the headers every portal response carries (pages, API, static files, errors)."""
    return [
        ("Content-Security-Policy", policy),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        # Older browsers ignore frame-ancestors; this says the same to them.
        ("X-Frame-Options", "SAMEORIGIN"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
    ]


def apply_security_headers(response: Response, policy: str) -> Response:
    """Set the security headers on `response`, keeping any a view chose itself."""
    for name, value in security_headers(policy):
        response.headers.setdefault(name, value)
    return response


def wants_json(path: str) -> bool:
    """Say whether answers at `path`, errors included, are JSON rather than pages."""
    return path.startswith("/api/") or path == "/oembed"


class SecurityHeaders:
    """WSGI middleware: every response leaves with the security headers, even a failure.

    Flask's hooks set them on the responses it finishes; this catches the rest, such as
    an error page that itself failed to render (the catalog down, say), which would
    otherwise reach the browser as the server's bare page with no policy at all.
    """

    def __init__(self, app: WSGIApplication, policy: str) -> None:
        self.app = app
        self.headers = security_headers(policy)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = False

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal started
            started = True
            present = {name.lower() for name, _ in headers}
            headers.extend(h for h in self.headers if h[0].lower() not in present)
            return start_response(status, headers, exc_info)

        try:
            return self.app(environ, start)
        except Exception:
            if started:
                raise  # the status line is out; nothing better can be sent now
            log.exception("request failed before a response: %s", environ.get("PATH_INFO"))
            return self._failure(environ, start)

    @staticmethod
    def _failure(environ: WSGIEnvironment, start: StartResponse) -> list[bytes]:
        message = "Something went wrong on our side. Try again in a moment."
        if wants_json(str(environ.get("PATH_INFO", ""))):
            body, kind = json.dumps({"error": message}).encode(), "application/json"
        else:
            body, kind = message.encode(), "text/plain; charset=utf-8"
        start("500 Internal Server Error", [("Content-Type", kind)])
        return [body]


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
