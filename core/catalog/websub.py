"""The catalog's functions for WebSub (W3C) subscriptions of feed sources.

A feed that names a hub (`<link rel="hub">`) is subscribed to, and the hub pushes new
content to the portal instead of being polled for it. A subscription's life:

    ""  ──hub seen──▶  subscribe  ──asked──▶  pending  ──hub verified──▶  verified
                           ▲                     │ (no answer)               │
                           └──── retry ◀─────────┘             renew ◀───────┘
    the hub denies it ─▶ denied (asked again a day later)
    the hub is at a forbidden address ─▶ refused (until the feed names another hub)

`websub_lease_until` says until when the current state holds before something must be
done: for a verified subscription, when it is renewed (at 80% of its lease, or an hour
before its end, whichever comes first); while pending, when to give up waiting for the
hub's verification and ask again; for a denied or failed request, when to ask again.
Push is trusted only up to that point, so a renewal that fails brings polling back
before the hub's lease actually runs out.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.catalog.models import Source
from core.timeutil import utcnow

# The states of a subscription (Source.websub_state).
SUBSCRIBE = "subscribe"  # to be asked for
PENDING = "pending"  # asked; the hub is to verify our intent
VERIFIED = "verified"  # the hub verified it: it pushes until the lease ends
DENIED = "denied"  # the hub said no
REFUSED = "refused"  # we will not talk to this hub (a private address)
#: States in which the hub may verify our intent: we asked, or hold a subscription.
ASKED = frozenset({PENDING, VERIFIED})

#: The lease asked for; a hub may grant another.
LEASE_S = 86_400
#: A lease shorter than this is taken as this long (a hub granting seconds would
#: otherwise have us renew in a loop).
MIN_LEASE_S = 300
#: How long a hub has to verify a request before we ask again.
PENDING_WAIT_S = 900
#: How long to wait before asking a hub again after it failed or denied a request.
RETRY_S = 3_600
DENIED_RETRY_S = 86_400
#: How rarely a source with a verified subscription is still polled: pushes can be
#: missed (a hub restarting), so polling goes on, only rarely.
PUSHED_POLL_FACTOR = 12
PUSHED_POLL_MIN_S = 3_600
_MAX_URL = 2000

# Keys in Redis that the portal (which takes pushes) and the worker (which reads them) share.
PUSH_KEY_PREFIX = "websub:push:"
#: How long a pushed body waits in Redis for the job that reads it.
PUSH_TTL_S = 900


def push_key(source_id: int, body: bytes) -> str:
    """Return the Redis key a body pushed for source `source_id` is kept under.

    The same body pushed twice has one key, so it is read once.
    """
    return f"{PUSH_KEY_PREFIX}{source_id}:{hashlib.sha256(body).hexdigest()[:32]}"


def previous_secret_key(source_id: int) -> str:
    """Return the Redis key of the secret a renewal replaced.

    The hub keeps signing with the old secret until it has verified the renewal.
    """
    return f"websub:previous-secret:{source_id}"


def _web_url(url: str) -> str:
    """Return `url` stripped if it is an absolute http(s) URL that fits a column, else ""."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ""
    if len(url) > _MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        return ""
    return url


def _source_at(session: Session, url: str) -> Source | None:
    """Return the source stored for `url` (as core.catalog.sources stores it), if any.

    Looked up here rather than through core.catalog.sources, which decides polling
    intervals with effective_interval below and so imports this module.
    """
    url = (url or "").strip()
    source = session.scalar(select(Source).where(Source.url == url))
    if source is not None:
        return source
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = userinfo + at + hostport.lower()
    normal = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    return session.scalar(select(Source).where(Source.url == normal)) if normal != url else None


def note_feed_hub(
    session: Session, source_url: str, hub: str, topic: str, *, now: datetime | None = None
) -> Source | None:
    """Remember the hub (and topic) the feed at `source_url` names; return its source.

    A new or changed hub or topic is to be subscribed to; a feed that names no hub any
    more drops its subscription, so the source is polled as before. Return None when
    no source reads `source_url`, or when `hub` is not a usable web address.
    """
    source = _source_at(session, source_url)
    if source is None:
        return None
    if not (hub or "").strip():
        if source.websub_hub:
            _forget(source)
        return source
    hub = _web_url(hub)
    if not hub:
        return None
    # Without rel="self" the topic is the URL the feed was read from (WebSub 4).
    topic = _web_url(topic) or source.url
    if hub != source.websub_hub or topic != source.websub_topic or not source.websub_state:
        source.websub_hub = hub
        source.websub_topic = topic
        source.websub_state = SUBSCRIBE
        source.websub_secret = ""
        source.websub_lease_until = None
    return source


def _forget(source: Source) -> None:
    source.websub_hub = ""
    source.websub_topic = ""
    source.websub_state = ""
    source.websub_secret = ""
    source.websub_lease_until = None


def subscriptions_due(
    session: Session, now: datetime | None = None, *, limit: int = 100
) -> list[Source]:
    """Return unpaused sources whose subscription is to be asked for now, oldest first.

    These are new subscriptions, verified ones reaching their renewal time, requests
    the hub never verified, and denied or failed ones whose wait is over.
    """
    now = now or utcnow()
    return list(
        session.scalars(
            select(Source)
            .where(
                Source.paused.is_(False),
                Source.websub_hub != "",
                Source.websub_state.in_((SUBSCRIBE, PENDING, VERIFIED, DENIED)),
                or_(Source.websub_lease_until.is_(None), Source.websub_lease_until <= now),
            )
            .order_by(Source.websub_lease_until.is_not(None), Source.websub_lease_until, Source.id)
            .limit(limit)
        )
    )


def hold_subscriptions(session: Session, source_ids: list[int], until: datetime) -> None:
    """Keep these subscriptions from being due again before `until` (their request is queued).

    If the queued request is lost, they come due again then.
    """
    for source in session.scalars(select(Source).where(Source.id.in_(source_ids))):
        source.websub_lease_until = until


def renewal_time(verified_at: datetime, lease_s: int) -> datetime:
    """Return when a lease of `lease_s` seconds verified at `verified_at` is to be renewed.

    At 80% of the lease, or an hour before its end, whichever comes first; a lease
    under two hours is renewed half-way.
    """
    lease_s = max(lease_s, MIN_LEASE_S)
    margin = max(0.2 * lease_s, min(3_600.0, lease_s / 2))
    return verified_at + timedelta(seconds=lease_s - margin)


def mark_pending(session: Session, source_id: int, *, now: datetime | None = None) -> Source | None:
    """Record that the hub is being asked for a subscription, with a new secret.

    Return the source (its `websub_secret` is the one to send), or None if it is gone
    or names no hub.
    """
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None or not source.websub_hub:
        return None
    source.websub_state = PENDING
    # A new secret for each request: one that leaked with an old one stops working.
    source.websub_secret = secrets.token_hex(20)
    source.websub_lease_until = now + timedelta(seconds=PENDING_WAIT_S)
    return source


def mark_verified(
    session: Session, source_id: int, lease_s: int, *, now: datetime | None = None
) -> Source | None:
    """Record that the hub verified our subscription for `lease_s` seconds."""
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None or source.websub_state not in ASKED:
        return None
    source.websub_state = VERIFIED
    source.websub_lease_until = renewal_time(now, lease_s)
    return source


def mark_denied(session: Session, source_id: int, *, now: datetime | None = None) -> Source | None:
    """Record that the hub denied the subscription; it is asked again a day later."""
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None or not source.websub_hub:
        return None
    source.websub_state = DENIED
    source.websub_secret = ""
    source.websub_lease_until = now + timedelta(seconds=DENIED_RETRY_S)
    return source


def mark_failed(
    session: Session,
    source_id: int,
    *,
    refused: bool = False,
    now: datetime | None = None,
) -> Source | None:
    """Record that asking the hub failed: try again later, or never if `refused`.

    A refused hub (at an address the crawler may not reach) is not asked again until
    the feed names another one.
    """
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None or not source.websub_hub:
        return None
    source.websub_state = REFUSED if refused else SUBSCRIBE
    source.websub_secret = ""
    source.websub_lease_until = None if refused else now + timedelta(seconds=RETRY_S)
    return source


def is_pushed(source: Source, now: datetime | None = None) -> bool:
    """Say whether `source` has a verified subscription that is not yet to be renewed."""
    now = now or utcnow()
    until = source.websub_lease_until
    return source.websub_state == VERIFIED and until is not None and until > now


def effective_interval(source: Source, now: datetime | None = None) -> int:
    """Return the seconds between polls of `source`: rarely while a hub pushes its updates."""
    if is_pushed(source, now):
        return max(source.interval_s * PUSHED_POLL_FACTOR, PUSHED_POLL_MIN_S)
    return source.interval_s
