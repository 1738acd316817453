"""Deliver in-app notifications when spaces go live or reminders come due.

The catalog knows nothing of listeners: `LiveNotifier` is an after-commit hook that
receives the ids a commit changed, like the search index sync does. Unique keys on
announcements, hits and notifications make every delivery happen at most once, even
when two processes see the same space go live. A process killed between committing a
space's change to live and committing its announcement would lose that delivery; the
schedule's `announce_missed` finds such spaces and delivers it then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.catalog.db import Catalog
from core.catalog.models import (
    Follow,
    LiveAnnouncement,
    Notification,
    NotifyChoice,
    Reminder,
    SavedSearch,
    SavedSearchHit,
    Space,
    StateChange,
    UTCDateTime,
)
from core.catalog.saved_searches import matches, space_words
from core.catalog.states import State
from core.timeutil import isoformat, utcnow

log = logging.getLogger(__name__)

STALE_START = timedelta(hours=2)
#: How far back announce_missed looks for spaces whose going live went unannounced.
MISSED_WINDOW = timedelta(minutes=30)
#: A change to live this recent may still be announced by the process that made it.
MISSED_GRACE = timedelta(seconds=10)


def _title(space: Space) -> str:
    return (space.title or "Untitled space")[:300]


def _host(space: Space) -> str:
    host = space.host
    return (host.name or host.handle) if host is not None else "A host"


def _add(session: Session, user_id: int, kind: str, space: Space, text: str, dedupe: str) -> bool:
    exists = session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id,
            Notification.kind == kind,
            Notification.space_id == space.id,
            Notification.dedupe == dedupe,
        )
    )
    if not exists:
        session.add(
            Notification(
                user_id=user_id, kind=kind, space_id=space.id, dedupe=dedupe, text=text[:500]
            )
        )
    return not exists


def notify_person(
    session: Session, user_id: int, kind: str, text: str, *, link: str = "", dedupe: str = ""
) -> None:
    """Tell one person something that is not about a space (a decision on their request).

    `dedupe` tells apart notices of one kind: the same (kind, dedupe) is kept once.
    Delivery on the person's chosen channels follows the commit, like every notice's.
    """
    known = session.scalar(
        select(func.count(Notification.id)).where(
            Notification.user_id == user_id,
            Notification.kind == kind,
            Notification.space_id.is_(None),
            Notification.dedupe == dedupe,
        )
    )
    if not known:
        session.add(
            Notification(
                user_id=user_id, kind=kind, dedupe=dedupe, text=text[:500], link=link[:500]
            )
        )


def _newly_live(session: Session, space_ids: Iterable[int]) -> list[tuple[Space, datetime | None]]:
    """Return the live spaces among `space_ids` whose live period was not announced yet."""
    spaces = session.scalars(
        select(Space).where(
            Space.id.in_(list(space_ids)), Space.state == State.LIVE, Space.hidden.is_(False)
        )
    ).unique()
    fresh = []
    for space in spaces:
        since = _live_since(session, space)
        seen = session.get(LiveAnnouncement, space.id)
        if seen is not None and seen.live_since == since:
            continue
        if seen is None:
            session.add(LiveAnnouncement(space_id=space.id, live_since=since))
        else:
            seen.live_since = since
        fresh.append((space, since))
    return fresh


def _live_since(session: Session, space: Space) -> datetime | None:
    """Return when the current live period began: the last change to live.

    Not `started_at`: a crawl may correct that while the space stays live, and that
    must not announce it again.
    """
    at = session.scalar(
        select(func.max(StateChange.at)).where(
            StateChange.space_id == space.id, StateChange.to_state == State.LIVE
        )
    )
    return at or space.started_at


def _insert_ignoring_known(session: Session, rows: Select[Any], kind: str) -> None:
    """Insert the notifications `rows` selects, skipping any the unique key already holds.

    One INSERT ... SELECT, whatever the audience: a host with 100,000 followers going
    live costs one statement, not 100,000 objects.
    """
    columns = ["user_id", "kind", "space_id", "dedupe", "text", "link", "created_at"]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert(Notification).from_select(columns, rows).on_conflict_do_nothing()
    session.execute(statement)


def _audience(
    session: Session, space: Space, kind: str, dedupe: str, text: str, users: Any
) -> None:
    now = utcnow()
    rows = select(
        users.c.user_id,
        literal(kind),
        literal(space.id),
        literal(dedupe),
        literal(text[:500]),
        literal(""),
        literal(now, UTCDateTime()),
    )
    # SQLite needs a WHERE before ON CONFLICT to parse INSERT ... SELECT ... ON CONFLICT.
    _insert_ignoring_known(session, rows.select_from(users).where(true()), kind)


def notify_went_live(session: Session, space_ids: Iterable[int]) -> int:
    """Notify reminders, followers and saved searches of spaces that just went live.

    One notice per person per event: a reminder says it best, then a follow, then an
    alert. Return how many spaces were announced.
    """
    spaces = _newly_live(session, space_ids)
    if not spaces:
        return 0
    searches = list(session.scalars(select(SavedSearch)))
    for space, since in spaces:
        period = isoformat(since) or ""
        reminded = select(Reminder.user_id).where(Reminder.space_id == space.id)
        text = f"Starting now: {_host(space)} started {_title(space)}"
        _audience(session, space, "reminder", "", text, reminded.subquery())
        if space.host is not None and space.host.handle:
            followers = select(Follow.user_id).where(
                Follow.handle == space.host.handle.lower(), Follow.user_id.not_in(reminded)
            )
            text = f"{_host(space)}, whom you follow, is live: {_title(space)}"
            _audience(session, space, "follow", period, text, followers.subquery())
        _alert(session, space, searches)
    return len(spaces)


def _alert(session: Session, space: Space, searches: list[SavedSearch]) -> None:
    """Record the saved searches `space` matches, and tell their owners not told yet."""
    words = space_words(space)
    told: set[int] | None = None
    for search in searches:
        if not matches(search, space, words) or _was_hit(session, search.id, space.id):
            continue
        # The hit feeds the search's Atom feed even when its owner was told already.
        session.add(SavedSearchHit(search_id=search.id, space_id=space.id))
        if told is None:
            session.flush()
            told = set(
                session.scalars(
                    select(Notification.user_id).where(Notification.space_id == space.id)
                )
            )
        if search.user_id not in told:
            text = f"Live now for your alert “{search.query or search.topic}”: {_title(space)}"
            _add(session, search.user_id, "search", space, text, str(search.id))
            told.add(search.user_id)


def announce_missed(session: Session, now: datetime) -> int:
    """Announce spaces that went live lately but whose announcement was lost; return how many.

    The announcement follows the change's commit in another transaction (LiveNotifier):
    a process killed in between leaves the space live and unannounced. Changes younger
    than MISSED_GRACE are left to the process that made them.
    """
    to_live = and_(StateChange.space_id == Space.id, StateChange.to_state == State.LIVE)
    candidates = session.scalars(
        select(Space.id)
        .outerjoin(LiveAnnouncement, LiveAnnouncement.space_id == Space.id)
        .where(
            Space.state == State.LIVE,
            Space.hidden.is_(False),
            Space.updated_at >= now - MISSED_WINDOW,
            Space.created_at <= now - MISSED_GRACE,
            ~exists().where(to_live, StateChange.at > now - MISSED_GRACE),
            or_(
                LiveAnnouncement.space_id.is_(None),
                exists().where(
                    to_live,
                    or_(
                        LiveAnnouncement.live_since.is_(None),
                        StateChange.at > LiveAnnouncement.live_since,
                    ),
                ),
            ),
        )
    ).all()
    count = notify_went_live(session, candidates) if candidates else 0
    if count:
        log.warning("announced %d spaces whose going live was not announced", count)
    return count


def _was_hit(session: Session, search_id: int, space_id: int) -> bool:
    found = session.scalar(
        select(func.count(SavedSearchHit.id)).where(
            SavedSearchHit.search_id == search_id, SavedSearchHit.space_id == space_id
        )
    )
    return bool(found)


def deliver_starting(session: Session, now: datetime, user_id: int | None = None) -> int:
    """Tell reminders that their space is due; return how many were told.

    This is the "it was due at" notice, sent at the scheduled time while the host has not
    started; "starting now" goes out when the space actually goes live (notify_went_live).
    """
    query = (
        select(Reminder, Space)
        .join(Space, Reminder.space_id == Space.id)
        .where(
            Reminder.notified_at.is_(None),
            Space.scheduled_start.is_not(None),
            Space.scheduled_start <= now,
            Space.hidden.is_(False),
        )
    )
    if user_id is not None:
        query = query.where(Reminder.user_id == user_id)
    count = 0
    for reminder, space in session.execute(query).unique():
        reminder.notified_at = now
        # A start long past that never went live is news to no one; retire it quietly.
        stale = space.scheduled_start is not None and now - space.scheduled_start > STALE_START
        if space.state == State.SCHEDULED and not stale:
            due = f"{space.scheduled_start:%H:%M} UTC" if space.scheduled_start else "now"
            text = (
                f"Due at {due}: {_title(space)} with {_host(space)}. The host has not "
                "started yet; we will tell you when it goes live."
            )
            _add(session, reminder.user_id, "starting", space, text, "")
            count += 1
    return count


#: How long before a reminded space's start the optional "soon" notice goes out.
SOON = timedelta(minutes=10)


def deliver_soon(session: Session, now: datetime) -> int:
    """Tell people who chose it that a reminded space starts within 10 minutes.

    Only those whose choice for the "soon" trigger is not "off" (its default); the
    unique key keeps it to one notice per reminder.
    """
    wanted = select(NotifyChoice.user_id).where(
        NotifyChoice.trigger == "soon", NotifyChoice.channels != "off"
    )
    rows = session.execute(
        select(Reminder.user_id, Space)
        .join(Space, Reminder.space_id == Space.id)
        .where(
            Reminder.user_id.in_(wanted),
            Space.state == State.SCHEDULED,
            Space.hidden.is_(False),
            Space.scheduled_start > now,
            Space.scheduled_start <= now + SOON,
        )
    ).unique()
    count = 0
    for user_id, space in rows:
        due = f"{space.scheduled_start:%H:%M} UTC" if space.scheduled_start else "soon"
        text = f"In 10 minutes, at {due}: {_title(space)} with {_host(space)}"
        count += _add(session, user_id, "soon", space, text, "")
    return count


def unread_count(session: Session, user_id: int) -> int:
    """Return how many notifications the user has not read."""
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def recent(session: Session, user_id: int, limit: int = 100) -> list[Notification]:
    """Return the user's notifications, newest first."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(rows)


def mark_all_read(session: Session, user_id: int, now: datetime) -> None:
    """Mark every notification of the user as read."""
    session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=now)
    )


class LiveNotifier:
    """After-commit hook: announce spaces of a commit that went live.

    The notices are written here, in one statement per audience; sending them on
    people's channels is the delivery jobs' work (worker.delivery). `announced` is
    called once notices were written, to have them dispatched at once; the schedule's
    dispatcher finds them within a couple of seconds anyway.
    """

    def __init__(self, catalog: Catalog, announced: Callable[[], None] | None = None) -> None:
        self.catalog = catalog
        self.announced = announced

    def __call__(self, space_ids: set[int]) -> None:
        with self.catalog.session() as session:
            count = notify_went_live(session, space_ids)
        if not count:
            return
        log.info("announced %d spaces that went live", count)
        if self.announced is not None:
            try:
                self.announced()
            except Exception as error:  # the commit stands; the schedule dispatches soon
                log.warning("could not ask for the notices to be sent at once: %s", error)


def install(catalog: Catalog, announced: Callable[[], None] | None = None) -> None:
    """Register the live notifier on `catalog`'s commits."""
    catalog.on_commit(LiveNotifier(catalog, announced))
