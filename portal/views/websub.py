"""The WebSub (W3C) subscriber callback: hubs verify our subscriptions and push feeds here.

`GET /websub/<source id>` is a hub verifying that we asked for a subscription (or
telling us it was denied); `POST` is a hub delivering new content of the feed, signed
with the subscription's secret. Pushed content is only stored and queued here; a
worker reads it (worker.websub.take_pushed_feed).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re

import redis
from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from core.catalog.models import Source
from core.catalog.websub import (
    ASKED,
    LEASE_S,
    PUSH_TTL_S,
    mark_denied,
    mark_verified,
    previous_secret_key,
    push_key,
)
from core.queues import enqueue_pushed_feed
from portal.accounts.csrf import csrf_exempt
from portal.context import current_services
from portal.security import limit

log = logging.getLogger(__name__)

websub = Blueprint("websub", __name__)

#: The largest pushed body taken: a feed of new entries is far smaller.
MAX_BODY = 1024 * 1024
#: How often a source's refused pushes are logged: once, then not again for this long.
REFUSED_LOG_S = 3600
MAX_CHALLENGE = 1000
#: The digests a hub may sign with (WebSub 8: sha1, sha256, sha384, sha512).
_METHODS = ("sha1", "sha256", "sha384", "sha512")
_HEX = re.compile(r"^[0-9a-fA-F]{40,128}$")


def _text(body: str, status: int) -> Response:
    return Response(body, status=status, mimetype="text/plain")


def _limited() -> Response | None:
    """Count this request against the caller's limit; return the answer if it is over."""
    try:
        limit("websub", request.remote_addr or "unknown", "requests")
    except HTTPException as refused:
        # Hubs read plain text; the limit's own headers (Retry-After) go with it.
        response = _text(refused.description or "", refused.code or 429)
        for name, value in refused.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response
    return None


@websub.get("/websub/<int:source_id>")
def verify(source_id: int) -> Response:
    """Answer a hub's verification of intent: echo the challenge only for what we asked."""
    if (limited := _limited()) is not None:
        return limited
    mode = request.args.get("hub.mode", "")
    topic = request.args.get("hub.topic", "")
    challenge = request.args.get("hub.challenge", "")
    lease = _lease(request.args.get("hub.lease_seconds"))
    services = current_services()
    with services.catalog.session() as session:
        source = session.get(Source, source_id)
        if source is None or not source.websub_topic or topic != source.websub_topic:
            return _text("no such subscription", 404)
        if source.websub_state not in ASKED:
            return _text("no subscription was asked for", 404)
        if mode == "denied":
            mark_denied(session, source_id)
            log.warning(
                "websub: source %s: the hub denied the subscription: %s",
                source_id,
                request.args.get("hub.reason", "")[:200],
            )
            return _text("", 200)
        # We never ask to unsubscribe: confirming one would let anyone who knows the
        # topic cancel our subscription.
        if mode != "subscribe" or not challenge or len(challenge) > MAX_CHALLENGE:
            return _text("not asked for", 404)
        if lease is None:
            return _text("hub.lease_seconds must be a positive whole number", 404)
        mark_verified(session, source_id, lease)
    log.info("websub: source %s: subscription verified for %s s", source_id, lease)
    return _text(challenge, 200)


def _lease(value: str | None) -> int | None:
    """Return the lease a hub granted; the one we asked for when it names none."""
    if value is None or value == "":
        return LEASE_S
    if not value.isdigit() or not 0 < int(value) < 10**9:
        return None
    return int(value)


@websub.post("/websub/<int:source_id>")
@csrf_exempt  # hubs push without a session; the body is authenticated by its signature
def receive(source_id: int) -> Response:
    """Take a hub's push: store a correctly signed body and queue it; ignore anything else.

    WebSub asks subscribers to acknowledge a push whose signature is missing or wrong
    with a 2xx like any other, and to ignore it; so both get the same 202.
    """
    if (limited := _limited()) is not None:
        return limited
    if (request.content_length or 0) > MAX_BODY:
        return _text(f"a push must be at most {MAX_BODY // 1024} KiB", 413)
    body = request.stream.read(MAX_BODY + 1)
    if len(body) > MAX_BODY:
        return _text(f"a push must be at most {MAX_BODY // 1024} KiB", 413)
    services = current_services()
    with services.catalog.sessions() as session:
        source = session.get(Source, source_id)
        if source is None:
            return _text("no such subscription", 404)
        secret = source.websub_secret
    try:
        previous = services.redis.get(previous_secret_key(source_id))
        if isinstance(previous, bytes):
            previous = previous.decode()
        keys = [secret, previous or ""]
        problem = _signature_problem(body, request.headers.get("X-Hub-Signature", ""), keys)
        if problem:
            _log_refused(source_id, problem)
            return _text("", 202)
        key = push_key(source_id, body)
        services.redis.set(key, body, ex=PUSH_TTL_S)
        enqueue_pushed_feed(services, source_id, key)
    except redis.RedisError:
        # A hub retries a push that failed; one that was "accepted" would be lost.
        log.exception("websub: source %s: push not stored", source_id)
        return _text("try again later", 503)
    return _text("", 202)


def _signature_problem(body: bytes, header: str, keys: list[str]) -> str:
    """Return why `header` does not sign `body` with one of `keys`, or "" if it does."""
    if not header:
        return "unsigned"
    method, _, given = header.strip().partition("=")
    method = method.strip().lower()
    if method not in _METHODS or not _HEX.match(given):
        return f"a signature that is not method=hex ({header[:40]!r})"
    for key in filter(None, keys):
        expected = hmac.new(key.encode(), body, getattr(hashlib, method)).hexdigest()
        if hmac.compare_digest(expected, given.lower()):
            return ""
    return "a wrong signature" if any(keys) else "no secret to check it with"


def _log_refused(source_id: int, problem: str) -> None:
    """Log a refused push once, then stay quiet about that source for a while."""
    try:
        first = current_services().redis.set(
            f"websub:refused-logged:{source_id}", "1", nx=True, ex=REFUSED_LOG_S
        )
    except redis.RedisError:
        first = True
    if first:
        log.warning(
            "websub: source %s: push ignored (reason refused): %s; further refusals for "
            "this source are not logged for %d s",
            source_id,
            problem,
            REFUSED_LOG_S,
        )
