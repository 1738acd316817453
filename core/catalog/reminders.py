"""Reminders: a user wants to know when a scheduled space starts."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.catalog.models import Reminder, Space


def remind(session: Session, user_id: int, space_id: int) -> None:
    """Set a reminder for a space (again is fine)."""
    if not has_reminder(session, user_id, space_id):
        session.add(Reminder(user_id=user_id, space_id=space_id))


def forget(session: Session, user_id: int, space_id: int) -> None:
    """Remove a reminder."""
    session.execute(
        delete(Reminder).where(Reminder.user_id == user_id, Reminder.space_id == space_id)
    )


def has_reminder(session: Session, user_id: int, space_id: int) -> bool:
    """Return True if the user has a reminder for this space."""
    found = session.scalar(
        select(func.count(Reminder.id)).where(
            Reminder.user_id == user_id, Reminder.space_id == space_id
        )
    )
    return bool(found)


def reminded_spaces(session: Session, user_id: int, limit: int = 100) -> list[Space]:
    """Return the spaces the user asked to be reminded of, soonest first."""
    rows = session.scalars(
        select(Space)
        .join(Reminder, Reminder.space_id == Space.id)
        .where(Reminder.user_id == user_id, Space.hidden.is_(False))
        .order_by(Space.scheduled_start.is_(None), Space.scheduled_start, Space.id)
        .limit(limit)
    )
    return list(rows.unique())
