"""The catalog's functions for hosting: what a submitted link's crawl found, and whose
rooms are whose (a room opened from the portal is listed under its host's handle).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.db import touch
from core.catalog.models import Host, HostedRoom, Space, Submission, User
from core.timeutil import utcnow

MAX_FOUND = 20  # spaces named on one submission; the count says the rest
MAX_REASON = 500


def record_submission_outcome(
    session: Session,
    url: str,
    *,
    found: Sequence[str],
    reason: str = "",
    since: datetime | None = None,
    now: datetime | None = None,
) -> list[Submission]:
    """Record on the pending submissions of `url` what its crawl found; return them.

    `found` holds the canonical URLs of the spaces the crawl landed; a crawl that found
    none is "failed" when there is a `reason`, else "nothing". Only submissions made
    before the crawl began (`since`) are settled: a later one waits for its own crawl.
    """
    now = now or utcnow()
    query = select(Submission).where(Submission.url == url, Submission.outcome == "pending")
    if since is not None:
        query = query.where(Submission.created_at <= since)
    pending = list(session.scalars(query))
    urls = list(dict.fromkeys(found))
    if not urls:
        # A link to a space crawled moments ago may be skipped as fresh: it is still found.
        known = session.scalar(select(Space.canonical_url).where(Space.canonical_url == url))
        urls = [known] if known else []
    for submission in pending:
        submission.found_urls = urls[:MAX_FOUND]
        submission.reason = "" if urls else reason[:MAX_REASON]
        submission.outcome = "found" if urls else ("failed" if reason else "nothing")
        submission.crawled_at = now
    session.flush()
    return pending


def room_hosts_scope(share_url: str) -> str:
    """Return the host scope of rooms on the server at `share_url` (as crawls name it)."""
    return f"rooms:{urlsplit(share_url).netloc.lower()}"


def attach_room_hosts(
    session: Session,
    *,
    user_id: int | None = None,
    share_urls: Sequence[str] | None = None,
    now: datetime | None = None,
) -> int:
    """List the spaces of rooms opened from the portal under their host's current handle.

    The room server names a host by the handle their token carried when the room
    opened; the portal knows the handle the person has now. Narrow the work to one
    user's rooms or to some share URLs; return how many spaces changed.
    """
    now = now or utcnow()
    query = select(HostedRoom, User, Space).join(User, User.id == HostedRoom.user_id)
    query = query.join(Space, Space.canonical_url == HostedRoom.share_url)
    if user_id is not None:
        query = query.where(HostedRoom.user_id == user_id)
    if share_urls is not None:
        if not share_urls:
            return 0
        query = query.where(HostedRoom.share_url.in_(list(share_urls)))
    changed = 0
    for room, user, space in session.execute(query).unique().all():
        current = space.host
        name = user.display_name or user.handle
        if current is not None and current.handle == user.handle and current.name == name:
            continue
        scope = current.platform if current is not None else room_hosts_scope(room.share_url)
        host = session.scalar(
            select(Host).where(Host.platform == scope, Host.handle == user.handle)
        )
        if host is None:
            host = Host(platform=scope, handle=user.handle, name=name, created_at=now)
            session.add(host)
        host.name = name
        if space.host is not host:
            space.host = host
        space.version += 1
        space.updated_at = now
        session.flush()
        touch(session, space.id)
        changed += 1
    return changed
