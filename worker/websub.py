"""WebSub jobs: subscribe to feeds' hubs, renew before leases end, read what hubs push.

A hub is an address read from a crawled feed, so it is held to the same guard as any
crawled URL: a hub at a private address is refused and never asked again.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import aiohttp

from core.catalog.models import Source
from core.catalog.spaces import record_sighting, upsert_space
from core.catalog.websub import (
    LEASE_S,
    PENDING_WAIT_S,
    PUSH_KEY_PREFIX,
    REFUSED,
    VERIFIED,
    hold_subscriptions,
    mark_failed,
    mark_pending,
    note_feed_hub,
    previous_secret_key,
    subscriptions_due,
)
from core.config import Config
from core.extract.feeds import parse_feed
from core.netguard import ForbiddenTarget
from core.platforms.feeds import feed_finds
from core.queues import WEBSUB_TIMEOUT_S, enqueue_websub_subscribe
from core.timeutil import utcnow
from core.webfetch import CONNECT_TIMEOUT_S, UrlGuard
from worker import context, httppool

log = logging.getLogger(__name__)

#: A queued subscription request holds its source this long; if lost, it comes back.
REQUEST_HOLD = timedelta(seconds=WEBSUB_TIMEOUT_S + 60)
HUB_TIMEOUT_S = 15.0


class HubError(Exception):
    """The hub did not accept a subscription request; `reason` is a source reason code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def subscribe_source(source_id: int) -> dict[str, Any] | None:
    """Ask the hub of source `source_id`'s feed for a subscription, with a new secret.

    The hub then verifies our intent with a GET to the portal's callback, which records
    the lease. Return what happened, or None if there is nothing to subscribe to.
    """
    services = context.services()
    config = services.config
    with services.catalog.session() as session:
        source = session.get(Source, source_id)
        if source is None or source.paused or not source.websub_hub:
            return None
        if source.websub_state == REFUSED:
            return None
        hub, topic = source.websub_hub, source.websub_topic or source.url
        if source.websub_state == VERIFIED and source.websub_secret:
            # The hub signs with the old secret until it verifies the renewal: keep it
            # usable (before the new one is committed, so no push falls in between).
            services.redis.set(
                previous_secret_key(source_id), source.websub_secret, ex=PENDING_WAIT_S
            )
        mark_pending(session, source_id)
        secret = source.websub_secret
    # Committed before asking: a hub may verify before it even answers the request.
    form = {
        "hub.mode": "subscribe",
        "hub.topic": topic,
        "hub.callback": f"{config.portal_url}/websub/{source_id}",
        # WebSub would have the secret sent over HTTPS only; without it no push could be
        # authenticated, and unauthenticated pushes are ignored, so it is always sent.
        "hub.secret": secret,
        "hub.lease_seconds": str(LEASE_S),
    }
    try:
        status = httppool.run(_ask_hub(hub, form, config))
    except HubError as failed:
        with services.catalog.session() as session:
            mark_failed(session, source_id, refused=failed.reason == "blocked_address")
        log.warning(
            "websub: source %s: subscribing at %s failed (%s): %s",
            source_id,
            hub,
            failed.reason,
            failed,
        )
        return {"source": source_id, "hub": hub, "state": "failed", "reason": failed.reason}
    log.info("websub: source %s: asked %s for %s (HTTP %s)", source_id, hub, topic, status)
    return {"source": source_id, "hub": hub, "state": "pending", "status": status}


async def _ask_hub(hub: str, form: dict[str, str], config: Config) -> int:
    """POST the form-encoded request to the hub, guarded; return the status, or raise HubError."""
    try:
        await UrlGuard(config.crawl_allow).check(hub)
    except ForbiddenTarget as refused:
        raise HubError("blocked_address", str(refused)) from None
    timeout = aiohttp.ClientTimeout(total=HUB_TIMEOUT_S, sock_connect=CONNECT_TIMEOUT_S)
    try:
        # The guarded resolver checks the address connected to again (DNS rebinding);
        # no redirect is followed: a hub that moves is asked at its new address next time.
        async with httppool.session(config.crawl_allow).post(
            hub,
            data=form,
            allow_redirects=False,
            timeout=timeout,
            headers={"User-Agent": config.user_agent},
        ) as response:
            await response.read()
            status = response.status
    except aiohttp.ClientConnectorError as failed:
        # The guarded resolver's refusal reaches us as a connection error.
        reason = "blocked_address" if "only fetches public addresses" in str(failed) else "connect"
        raise HubError(reason, str(failed)) from None
    except TimeoutError:
        raise HubError("timeout", f"no answer within {HUB_TIMEOUT_S:.0f} s") from None
    except aiohttp.ClientError as failed:
        raise HubError("connect", str(failed)) from None
    if not 200 <= status < 300:
        reason = "http_5xx" if status >= 500 else "http_4xx"
        raise HubError(reason, f"HTTP {status}")
    return status


def renew_subscriptions() -> int:
    """Queue a subscription request for every subscription due; return how many were queued.

    New subscriptions, renewals before their lease ends, requests the hub never
    verified, and denied ones whose wait is over.
    """
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        ids = [source.id for source in subscriptions_due(session, now)]
        hold_subscriptions(session, ids, now + REQUEST_HOLD)
    queued = sum(enqueue_websub_subscribe(services, source_id) is not None for source_id in ids)
    if ids:
        log.info("websub: %d subscriptions due, %d requests queued", len(ids), queued)
    return queued


def take_pushed_feed(source_id: int, body_key: str) -> dict[str, Any] | None:
    """Read the feed a hub pushed for source `source_id` (kept in Redis at `body_key`).

    Every space its entries link to is upserted and sighted on its entry, as a poll of
    the feed would. Safe to run twice: the body is deleted only once it is written, and
    writing it again changes nothing. None when the body is gone (read already).
    """
    services = context.services()
    if not body_key.startswith(f"{PUSH_KEY_PREFIX}{source_id}:"):
        raise ValueError(f"{body_key!r} is not a pushed body of source {source_id}")
    body = services.redis.get(body_key)
    if body is None:
        return None
    with services.catalog.sessions() as session:
        source = session.get(Source, source_id)
        source_url = source.url if source is not None else ""
        topic = (source.websub_topic or source.url) if source is not None else ""
    if not source_url:
        services.redis.delete(body_key)
        return None
    feed = parse_feed(body, topic)
    if not feed.kind:
        services.redis.delete(body_key)
        log.warning("websub: source %s: pushed body is no feed (refused: parse)", source_id)
        return {"source": source_id, "entries": 0, "spaces": 0, "reason": "parse"}
    found = feed_finds(feed, source_url).spaces
    with services.catalog.session() as session:
        for item in found:
            space = upsert_space(session, item.record)
            if item.page_url != item.record.url:
                record_sighting(session, space, item.page_url, item.anchor_text)
        if feed.hub:
            note_feed_hub(session, source_url, feed.hub, feed.self_url)
    services.redis.delete(body_key)
    log.info(
        "websub: source %s: pushed %d entries, %d spaces", source_id, len(feed.entries), len(found)
    )
    return {"source": source_id, "entries": len(feed.entries), "spaces": len(found)}
