"""Security headers for every response, and the rate limits, counted in the shared Redis."""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import redis
from flask import Flask, Response, current_app, request
from flask_limiter import Limiter
from limits import RateLimitItemPerSecond
from limits.errors import StorageError
from werkzeug.exceptions import ServiceUnavailable, TooManyRequests

from core.config import Config
from portal.context import current_services

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


#: Every rate limit: name -> (requests, window in seconds), counted per key (an address,
#: an account). `Config.extra["<name>_rate_limit"]` and `["<name>_rate_window_s"]` override.
RATE_LIMITS: dict[str, tuple[int, int]] = {
    # Generous for people, tight for scripts: guessing a password needs far more than this.
    "signin": (20, 300),  # per address
    "signin_email": (10, 900),  # per account tried
    "signup": (5, 3600),  # per address
    "password": (10, 900),  # per account: the current password is guessed there too
    "password_reset": (5, 3600),  # per address, and per email address asked for
    "push_subscribe": (30, 3600),  # per account
    "push_test": (10, 3600),  # per account: each sends a real notification
    "ping": (30, 60),  # per address; a room server sends two per room
    "websub": (120, 60),  # per hub address; a hub serving many feeds pushes for each
    "submission": (20, 3600),  # per host
    "report": (20, 3600),  # per account
}
_LIMITER = "spaces.limiter"


def init_rate_limits(app: Flask, client: redis.Redis) -> Limiter:
    """Give `app` its rate limiter, counting in the Redis server `client` talks to.

    The counters live in the one Redis every portal process shares, so a limit holds
    across processes; the limiter borrows the client's connection pool, so an embedded
    server (a unix socket) and a configured one are reached the same way.
    """
    options = cast("dict[str, str | int]", {"connection_pool": client.connection_pool})
    limiter = Limiter(
        key_func=lambda: request.remote_addr or "unknown",
        app=app,
        storage_uri="redis://",  # names the storage; the connections come from the pool
        storage_options=options,
        strategy="fixed-window",
    )
    app.extensions[_LIMITER] = limiter
    return limiter


def rate_limit_of(name: str, extra: Mapping[str, Any]) -> tuple[int, int]:
    """Return (requests, window in seconds) of limit `name`, with any configured override."""
    hits, window_s = RATE_LIMITS[name]
    return (
        int(extra.get(f"{name}_rate_limit", hits)),
        int(extra.get(f"{name}_rate_window_s", window_s)),
    )


def _span(seconds: int) -> str:
    if seconds < 60:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes % 60 == 0:
        hours = minutes // 60
        return "1 hour" if hours == 1 else f"{hours} hours"
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


def _per(seconds: int) -> str:
    return {60: "a minute", 3600: "an hour", 86_400: "a day"}.get(seconds, f"per {_span(seconds)}")


def _say(first: str, then: str) -> str:
    # Pages speak in sentences; the API's errors are one lower-case clause each.
    if wants_json(request.path):
        return f"{first[0].lower()}{first[1:]}; {then[0].lower()}{then[1:]}"
    return f"{first}. {then}."


def limit(name: str, key: str, what: str) -> None:
    """Count one of `what` by `key` against the limit `name`; raise 429 once past it.

    `what` names the requests for people: "sign-in attempts from your address". If
    the counters cannot be reached, raise 503: failing open would let a
    password-guessing run through unchecked.
    """
    hits, window_s = rate_limit_of(name, current_services().config.extra)
    item = RateLimitItemPerSecond(hits, window_s)
    strategy = cast(Limiter, current_app.extensions[_LIMITER]).limiter
    try:
        allowed = strategy.hit(item, name, key)
        reset_at = 0.0 if allowed else strategy.get_window_stats(item, name, key).reset_time
    except (redis.RedisError, StorageError):
        log.exception("rate limit %s unavailable", name)
        raise ServiceUnavailable(
            description=_say(f"The server cannot take {what} right now", "Try again in a minute")
        ) from None
    if allowed:
        return
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise TooManyRequests(
        description=_say(
            f"Too many {what}: at most {hits} {_per(window_s)}",
            f"Try again in {_span(retry_after)}",
        ),
        retry_after=retry_after,
    )
