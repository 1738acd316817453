"""Follow hosts by handle, and find what the hosts someone follows have live."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.catalog.freshness import trusted_at_column, verified_since
from core.catalog.models import Follow, Host, Space
from core.catalog.states import State


def _key(handle: str) -> str:
    # Host pages match handles case-insensitively, across platforms; so do follows.
    return handle.strip().lstrip("@").lower()


def follow(session: Session, user_id: int, handle: str) -> None:
    """Follow the host with this handle (again is fine)."""
    key = _key(handle)
    if not is_following(session, user_id, key):
        session.add(Follow(user_id=user_id, handle=key))


def unfollow(session: Session, user_id: int, handle: str) -> None:
    """Stop following the host with this handle."""
    session.execute(delete(Follow).where(Follow.user_id == user_id, Follow.handle == _key(handle)))


def is_following(session: Session, user_id: int, handle: str) -> bool:
    """Return True if the user follows this handle."""
    found = session.scalar(
        select(func.count(Follow.id)).where(
            Follow.user_id == user_id, Follow.handle == _key(handle)
        )
    )
    return bool(found)


def followed_handles(session: Session, user_id: int) -> list[str]:
    """Return the handles the user follows, alphabetically."""
    rows = session.scalars(
        select(Follow.handle).where(Follow.user_id == user_id).order_by(Follow.handle)
    )
    return list(rows)


def followers_of(session: Session, handle: str) -> list[int]:
    """Return the ids of users who follow this handle."""
    return list(session.scalars(select(Follow.user_id).where(Follow.handle == _key(handle))))


def followed_live(
    session: Session, user_id: int, now: datetime, interval_s: float, limit: int = 12
) -> list[Space]:
    """Return the live, recently checked spaces of hosts the user follows, busiest first."""
    handles = select(Follow.handle).where(Follow.user_id == user_id).scalar_subquery()
    query = (
        select(Space)
        .join(Host, Space.host_id == Host.id)
        .where(
            Space.hidden.is_(False),
            Space.state == State.LIVE,
            # The same freshness rule as the home page's "live now".
            trusted_at_column() >= verified_since(now, interval_s),
            func.lower(Host.handle).in_(handles),
        )
        .order_by(Space.listener_count.desc(), Space.id)
        .limit(limit)
    )
    return list(session.scalars(query).unique())
