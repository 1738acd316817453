"""Read sightings (pages that shared a space's link) for "trending": most shared lately."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.catalog.models import Sighting, Space
from portal.catalog.states import State
from portal.timeutil import utcnow

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def trending_space_ids(
    session: Session, *, window: timedelta = DAY, limit: int = 20, now: datetime | None = None
) -> list[int]:
    """Return ids of visible spaces shared on the most pages within `window`, most first.

    A sighting counts while its page still shows the link (last seen inside the window);
    ties go to the space whose latest share is newest.
    """
    since = (now or utcnow()) - window
    shares = (
        select(
            Sighting.space_id,
            func.count(Sighting.id).label("shares"),
            func.max(Sighting.last_seen).label("latest"),
        )
        .where(Sighting.last_seen >= since)
        .group_by(Sighting.space_id)
        .subquery()
    )
    rows = session.scalars(
        select(Space.id)
        .join(shares, shares.c.space_id == Space.id)
        .where(Space.hidden.is_(False), Space.state != State.GONE)
        .order_by(shares.c.shares.desc(), shares.c.latest.desc(), Space.id.desc())
        .limit(limit)
    )
    return list(rows)


def share_counts(
    session: Session,
    space_ids: Sequence[int],
    *,
    window: timedelta = DAY,
    now: datetime | None = None,
) -> dict[int, int]:
    """Return how many pages shared each of these spaces within `window` (0 if none)."""
    if not space_ids:
        return {}
    since = (now or utcnow()) - window
    rows = session.execute(
        select(Sighting.space_id, func.count(Sighting.id))
        .where(Sighting.space_id.in_(list(space_ids)), Sighting.last_seen >= since)
        .group_by(Sighting.space_id)
    )
    counts = dict.fromkeys(space_ids, 0)
    counts.update({space_id: int(count) for space_id, count in rows})
    return counts
