"""Read the catalog for the portal's pages: live now, upcoming, trending, by host or topic.

Every query here leaves hidden spaces out; the views never see one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from flask import abort
from sqlalchemy import ColumnElement, Select, case, func, select
from sqlalchemy.orm import Session

from core.catalog.freshness import Freshness, freshness, trusted_at_column, verified_since
from core.catalog.models import Host, Sighting, Space, User
from core.catalog.states import State

#: The largest id a 64-bit integer column holds.
MAX_ID = 2**63 - 1
TRENDING_WINDOW = timedelta(hours=24)


def is_live_now(space: Space, now: datetime, interval_s: float) -> bool:
    """Say whether `space` is live and that was confirmed recently enough to show it."""
    return space.state == State.LIVE and freshness(space, now, interval_s) != Freshness.STALE


def _visible() -> Select[Space]:
    return select(Space).where(Space.hidden.is_(False))


def live_now(session: Session, now: datetime, interval_s: float, limit: int = 24) -> list[Space]:
    """Return live spaces verified within the freshness window, biggest audience first."""
    rows = session.scalars(
        _visible()
        .where(Space.state == State.LIVE, trusted_at_column() >= verified_since(now, interval_s))
        .order_by(Space.featured.desc(), Space.listener_count.desc(), Space.id.desc())
        .limit(limit)
    )
    return list(rows.unique())


def upcoming(session: Session, now: datetime, limit: int = 12) -> list[Space]:
    """Return scheduled spaces, soonest first; ones with no start time come last."""
    # A start a few minutes past is still "about to start": hosts are often late.
    grace = now - timedelta(minutes=15)
    rows = session.scalars(
        _visible()
        .where(
            Space.state == State.SCHEDULED,
            (Space.scheduled_start.is_(None)) | (Space.scheduled_start >= grace),
        )
        .order_by(Space.scheduled_start.is_(None), Space.scheduled_start, Space.id)
        .limit(limit)
    )
    return list(rows.unique())


def trending(session: Session, now: datetime, limit: int = 12) -> list[tuple[Space, int]]:
    """Return spaces newly shared on the most pages in the last 24 hours, with that count.

    A share counts once, when it was first seen: a page read again and still showing
    the link is not news, and counting it would keep yesterday's spaces trending on
    the pages that never change. What can still be heard comes first: live, then
    scheduled, then what has ended, each by how widely it was shared.
    """
    since = now - TRENDING_WINDOW
    # Count in a subquery: grouping the outer query would also have to group the host
    # columns its joined eager load adds, which PostgreSQL insists on.
    shares = (
        select(Sighting.space_id, func.count(Sighting.id).label("shares"))
        # last_seen is never before first_seen; its index narrows the rows to look at.
        .where(Sighting.last_seen >= since, Sighting.first_seen >= since)
        .group_by(Sighting.space_id)
        .subquery()
    )
    rows = session.execute(
        select(Space, shares.c.shares)
        .join(shares, shares.c.space_id == Space.id)
        .where(Space.hidden.is_(False), Space.state != State.GONE)
        .order_by(_still_on(), shares.c.shares.desc(), Space.id.desc())
        .limit(limit)
    )
    return [(space, int(count)) for space, count in rows.unique()]


def _still_on() -> ColumnElement[int]:
    """Rank live spaces 0, scheduled ones 1, everything else 2."""
    return case((Space.state == State.LIVE, 0), (Space.state == State.SCHEDULED, 1), else_=2)


def get_visible(session: Session, space_id: int) -> Space | None:
    """Return the space with this id unless it is missing or hidden."""
    if not 0 < space_id <= MAX_ID:
        return None  # databases refuse ids past 64 bits; such a space cannot exist
    space = session.get(Space, space_id)
    if space is None or space.hidden:
        return None
    return space


def visible_or_404(session: Session, space_id: int) -> Space:
    """Return the visible space with this id, or answer 404 saying there is none."""
    space = get_visible(session, space_id)
    if space is None:
        abort(404, description="There is no space with this number, or it was removed.")
    return space


def spaces_in_order(session: Session, ids: Sequence[int]) -> list[Space]:
    """Load these spaces, keeping the given order and skipping missing or hidden ones."""
    if not ids:
        return []
    found = {s.id: s for s in session.scalars(_visible().where(Space.id.in_(ids))).unique()}
    return [found[i] for i in ids if i in found]


def spaces_with_shares(session: Session, ids: Sequence[int]) -> list[tuple[Space, int]]:
    """Load these spaces with their share counts in one select, keeping the given order.

    The host comes in the same select (a joined eager load) and the counts from a
    grouped subquery over just these ids, so a page of results is one round trip.
    """
    if not ids:
        return []
    shares = (
        select(Sighting.space_id, func.count(Sighting.id).label("n"))
        .where(Sighting.space_id.in_(ids))
        .group_by(Sighting.space_id)
        .subquery()
    )
    rows = session.execute(
        select(Space, func.coalesce(shares.c.n, 0))
        .outerjoin(shares, shares.c.space_id == Space.id)
        .where(Space.hidden.is_(False), Space.id.in_(ids))
    )
    found = {space.id: (space, int(count)) for space, count in rows.unique()}
    return [found[i] for i in ids if i in found]


def share_counts(session: Session, ids: Sequence[int]) -> dict[int, int]:
    """Return how many pages shared each of these spaces (all time)."""
    if not ids:
        return {}
    rows = session.execute(
        select(Sighting.space_id, func.count(Sighting.id))
        .where(Sighting.space_id.in_(ids))
        .group_by(Sighting.space_id)
    )
    return {space_id: int(count) for space_id, count in rows}


def sightings_of(session: Session, space_id: int, limit: int = 20) -> list[Sighting]:
    """Return the pages that shared a space, most recently seen first."""
    rows = session.scalars(
        select(Sighting)
        .where(Sighting.space_id == space_id)
        .order_by(Sighting.last_seen.desc(), Sighting.id.desc())
        .limit(limit)
    )
    return list(rows)


def hosts_by_handle(session: Session, handle: str) -> list[Host]:
    """Return every host with this handle (one per platform), case-insensitively."""
    rows = session.scalars(
        select(Host).where(func.lower(Host.handle) == handle.lower()).order_by(Host.id)
    )
    return list(rows)


def person_by_handle(session: Session, handle: str) -> User | None:
    """Return the account with this public handle (handles are stored lowercased)."""
    return session.scalar(select(User).where(User.handle == handle.lower()))


def spaces_of_hosts(session: Session, host_ids: Sequence[int], limit: int = 100) -> list[Space]:
    """Return the visible spaces of these hosts: live first, then upcoming, then the rest."""
    if not host_ids:
        return []
    rows = session.scalars(
        _visible()
        .where(Space.host_id.in_(host_ids))
        .order_by(_state_rank(), Space.updated_at.desc(), Space.id.desc())
        .limit(limit)
    )
    return list(rows.unique())


def _state_rank() -> ColumnElement[int]:
    return case(
        (Space.state == State.LIVE, 0),
        (Space.state == State.SCHEDULED, 1),
        (Space.state == State.ENDED, 2),
        else_=3,
    )
