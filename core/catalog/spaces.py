"""The catalog's write functions: the only way crawler and worker change it."""

from __future__ import annotations

import logging
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import urls
from core.catalog.db import touch
from core.catalog.models import Host, Sighting, Space, SpaceCheck, StateChange
from core.catalog.records import GENERIC_PLATFORM, TOPIC_MAX, Observation, SpaceRecord
from core.catalog.schedule import next_check_after
from core.catalog.states import State, TransitionRefused, check_transition
from core.timeutil import utcnow

log = logging.getLogger(__name__)

_TEXT_FIELDS = ("title", "description", "lang", "status_url", "player_url")
_TIME_FIELDS = ("started_at", "scheduled_start", "ended_at")


def get_space_by_url(session: Session, canonical_url: str) -> Space | None:
    """Return the space with this canonical URL, if the catalog has it.

    A URL in another spelling (tracking parameters, a fragment, X's other host names)
    finds the space too: it is looked up again in its generic canonical form.
    """
    space = session.scalar(select(Space).where(Space.canonical_url == canonical_url))
    if space is None:
        generic = urls.canonical_url(canonical_url)
        if generic and generic != canonical_url:
            space = session.scalar(select(Space).where(Space.canonical_url == generic))
    return space


def upsert_space(session: Session, record: SpaceRecord, *, now: datetime | None = None) -> Space:
    """Create or update the space at `record.url`; safe to call again with the same record."""
    now = now or utcnow()
    space = get_space_by_url(session, record.url)
    created = space is None
    if space is None:
        # Column defaults only apply at flush; set what the code below reads now.
        space = Space(
            canonical_url=record.url,
            url=record.url,
            platform=record.platform,
            state=State.UNKNOWN,
            version=1,
            topics=[],
            listener_count=0,
            speaker_count=0,
            check_failures=0,
            created_at=now,
            updated_at=now,
            next_check_at=now,
        )
        session.add(space)
    changed = created
    for name in _TEXT_FIELDS:
        value = getattr(record, name)
        # A provisional title (read off the sharing page) never replaces a real one.
        if (
            value
            and getattr(space, name) != value
            and not (record.provisional and getattr(space, name))
        ):
            setattr(space, name, value)
            changed = True
    for name in _TIME_FIELDS:
        value = getattr(record, name)
        if value is not None and getattr(space, name) != value:
            setattr(space, name, value)
            changed = True
    for name in ("listener_count", "speaker_count"):
        value = getattr(record, name)
        if value is not None and getattr(space, name) != value:
            setattr(space, name, value)
            changed = True
    topics = list(dict.fromkeys(topic[:TOPIC_MAX] for topic in record.topics))
    # Like a provisional title, guessed topics only fill a space that has none.
    if (
        topics
        and sorted(space.topics or []) != sorted(topics)
        and not (record.provisional and space.topics)
    ):
        space.topics = topics
        changed = True
    if record.platform != GENERIC_PLATFORM and space.platform != record.platform:
        space.platform = record.platform
        changed = True
    # A host guessed from a sharing page never replaces the one the space's page named.
    keep_host = record.provisional and space.host is not None
    host = None if keep_host else _upsert_host(session, record)
    if host is not None and space.host is not host:
        space.host = host
        changed = True
    if record.state is not None:
        changed |= _apply_state(session, space, record.state, now, reason="crawl")
    if changed and not created:
        space.version += 1
        space.updated_at = now
    return space


def _host_scope(record: SpaceRecord) -> str:
    """Return where the record's host handle is unique: its platform's, or its site."""
    return record.host_scope or f"{record.platform}:{urlsplit(record.url).netloc.lower()}"


def _upsert_host(session: Session, record: SpaceRecord) -> Host | None:
    handle = (record.host_handle or "").strip().lstrip("@")
    if not handle:
        return None
    if record.provisional:
        handle = handle.lower()
    platform = _host_scope(record)
    host = session.scalar(select(Host).where(Host.platform == platform, Host.handle == handle))
    if host is None:
        host = Host(platform=platform, handle=handle, name=record.host_name or handle)
        host.url = record.host_url
        session.add(host)
    else:
        if record.host_name and not record.provisional and host.name != record.host_name:
            host.name = record.host_name
        if record.host_url and host.url != record.host_url:
            host.url = record.host_url
    return host


def record_sighting(
    session: Session,
    space: Space,
    page_url: str,
    anchor_text: str = "",
    *,
    now: datetime | None = None,
) -> Sighting | None:
    """Record that `page_url` shared `space`'s link (idempotent per page).

    The page is kept in its canonical form, so one post reached with and without
    tracking parameters is one sighting; its first sighting time never moves, which is
    what trending counts by. The space's own page, read by another name of its server
    (`localhost` for `127.0.0.1`), shared nothing: None is returned and nothing recorded.
    """
    now = now or utcnow()
    page_url = urls.canonical_url(page_url) or page_url
    if urls.same_page(page_url, space.canonical_url or space.url or ""):
        return None
    sighting = None
    if space.id is not None:
        sighting = session.scalar(
            select(Sighting).where(Sighting.space_id == space.id, Sighting.page_url == page_url)
        )
    if sighting is None:
        sighting = Sighting(
            space=space, page_url=page_url, anchor_text=anchor_text[:500], first_seen=now
        )
        session.add(sighting)
    sighting.last_seen = now
    if anchor_text and not sighting.anchor_text:
        sighting.anchor_text = anchor_text[:500]
    if space.id is not None:
        touch(session, space.id)
    return sighting


def record_observation(
    session: Session,
    space: Space,
    observation: Observation,
    *,
    interval_s: float = 30.0,
    now: datetime | None = None,
) -> bool:
    """Record one liveness check of `space` made at `now`; return True if its state changed.

    An observation older than the space's last check is dropped: two overlapping
    batches (a lease that ran out) must not flip a space back and forth.
    """
    now = now or utcnow()
    if space.last_checked_at is not None and now < space.last_checked_at:
        log.info("space %s: dropping a check from %s, older than the last one", space.id, now)
        return False
    space.last_checked_at = now
    session.add(
        SpaceCheck(
            space_id=space.id,
            at=now,
            ok=observation.state is not None,
            state=str(observation.state or ""),
            listeners=observation.listener_count,
            error=observation.error[:300],
        )
    )
    if observation.state is None:
        space.check_failures += 1
        space.last_check_error = observation.error[:500]
        space.next_check_at = next_check_after(space, now, interval_s, failed=True)
        touch(session, space.id)
        return False
    space.check_failures = 0
    space.last_check_error = ""
    space.last_verified_at = now
    changed = False
    for name in ("listener_count", "speaker_count"):
        value = getattr(observation, name)
        if value is not None and getattr(space, name) != value:
            setattr(space, name, value)
            changed = True
    for name in _TIME_FIELDS:
        value = getattr(observation, name)
        if value is not None and getattr(space, name) != value:
            setattr(space, name, value)
            changed = True
    if observation.title and observation.title != space.title:
        space.title = observation.title
        changed = True
    previous = State(space.state)
    state_changed = _apply_state(session, space, observation.state, now, reason="check")
    space.next_check_at = next_check_after(space, now, interval_s, failed=False, previous=previous)
    if changed or state_changed:
        space.version += 1
        space.updated_at = now
    touch(session, space.id)
    return state_changed


def _apply_state(session: Session, space: Space, new: State, now: datetime, reason: str) -> bool:
    old = State(space.state)
    try:
        check_transition(old, new)
    except TransitionRefused as refused:
        log.warning("space %s (%s): %s; not recorded", space.id, space.canonical_url, refused)
        return False
    if old == new:
        return False
    space.state = new
    if new == State.LIVE and space.started_at is None:
        space.started_at = now
    if new == State.LIVE:
        space.ended_at = None
    if new in (State.ENDED, State.GONE) and space.ended_at is None:
        space.ended_at = now
    space.changes.append(StateChange(from_state=old, to_state=new, at=now, reason=reason))
    return True


def due_space_ids(session: Session, *, now: datetime | None = None, limit: int = 1000) -> list[int]:
    """Return ids of spaces whose next liveness check is due, oldest first."""
    now = now or utcnow()
    rows = session.scalars(
        select(Space.id)
        .where(Space.next_check_at.is_not(None), Space.next_check_at <= now)
        .order_by(Space.next_check_at)
        .limit(limit)
    )
    return list(rows)


def defer_checks(session: Session, space_ids: list[int], until: datetime) -> None:
    """Push the next check of these spaces to `until` (queued, or told to wait)."""
    if space_ids:
        session.execute(update(Space).where(Space.id.in_(space_ids)).values(next_check_at=until))
