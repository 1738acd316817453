"""What hosts do through the portal: submit links, claim host profiles, see their spaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.catalog.models import (
    Host,
    HostClaim,
    HostedRoom,
    Sighting,
    Space,
    SpaceCheck,
    Submission,
    User,
)
from core.catalog.sources import InvalidSource, normalize_source_url
from core.timeutil import utcnow

MAX_URL = 2000
MAX_MESSAGE = 1000
CHART_POINTS = 200


class HostingError(ValueError):
    """Input a host sent that cannot be used; the message says what to fix."""


def check_url(url: object) -> str:
    """Return a submitted space link cleaned up; raise HostingError saying what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise HostingError('send the space\'s link, like {"url": "https://x.com/i/spaces/1"}')
    text = url.strip()
    if len(text) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in text):
        raise HostingError(f"the link must be one address under {MAX_URL} characters")
    try:
        clean = normalize_source_url(text)
    except (InvalidSource, ValueError):
        raise HostingError("the link must be a full http:// or https:// address") from None
    if "@" in clean.split("/")[2]:
        raise HostingError("the link must not contain a user name or password")
    return clean


def record_submission(session: Session, user: User, url: str) -> Submission:
    """Record that `user` submitted `url` (crawled at once; admins see it queued)."""
    submission = Submission(user_id=user.id, url=url, status="queued", created_at=utcnow())
    session.add(submission)
    session.flush()
    return submission


def submissions_of(session: Session, user: User, limit: int = 20) -> list[Submission]:
    """Return the user's latest submissions."""
    rows = session.scalars(
        select(Submission)
        .where(Submission.user_id == user.id)
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit(limit)
    )
    return list(rows)


def claim_host(session: Session, user: User, handle: str, message: str) -> list[HostClaim]:
    """Ask to be recognised as every host with this handle; return the claims made."""
    clean = handle.strip().lstrip("@")
    if not clean or len(clean) > 120:
        raise HostingError("give the handle you host as, like @ann")
    if len(message) > MAX_MESSAGE:
        raise HostingError(f"keep the note under {MAX_MESSAGE} characters")
    hosts = list(session.scalars(select(Host).where(func.lower(Host.handle) == clean.lower())))
    if not hosts:
        raise HostingError(f"no host @{clean} has been seen yet; submit one of your spaces first")
    claims = []
    for host in hosts:
        claim = session.scalar(
            select(HostClaim).where(HostClaim.user_id == user.id, HostClaim.host_id == host.id)
        )
        if claim is None:
            claim = HostClaim(user_id=user.id, host=host, created_at=utcnow())
            session.add(claim)
        if claim.status != "approved":
            claim.status, claim.message = "pending", message.strip()
        claims.append(claim)
    session.flush()
    return claims


def claims_of(session: Session, user: User) -> list[HostClaim]:
    """Return the user's claims, newest first."""
    rows = session.scalars(
        select(HostClaim)
        .where(HostClaim.user_id == user.id)
        .order_by(HostClaim.created_at.desc(), HostClaim.id.desc())
    )
    return list(rows.unique())


def rooms_of(session: Session, user: User, limit: int = 50) -> list[HostedRoom]:
    """Return the rooms the user opened from the portal, newest first."""
    rows = session.scalars(
        select(HostedRoom)
        .where(HostedRoom.user_id == user.id)
        .order_by(HostedRoom.created_at.desc(), HostedRoom.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass
class HostedSpace:
    """One of a host's spaces on the dashboard, with its history and where it was shared."""

    space: Space
    room: HostedRoom | None = None
    series: list[tuple[datetime, int]] = field(default_factory=list)
    sightings: list[Sighting] = field(default_factory=list)


def listener_series(session: Session, space_id: int) -> list[tuple[datetime, int]]:
    """Return (time, listeners) of the space's successful checks, oldest first."""
    rows = session.execute(
        select(SpaceCheck.at, SpaceCheck.listeners)
        .where(
            SpaceCheck.space_id == space_id,
            SpaceCheck.ok.is_(True),
            SpaceCheck.listeners.is_not(None),
        )
        .order_by(SpaceCheck.at.desc())
        .limit(CHART_POINTS)
    )
    # The query already left out checks without a count; `is not None` only narrows the type.
    return [(at, int(n)) for at, n in reversed(rows.all()) if n is not None]


def dashboard(session: Session, user: User, limit: int = 30) -> list[HostedSpace]:
    """Return the user's spaces: of approved claimed hosts and rooms they opened."""
    host_ids = list(
        session.scalars(
            select(HostClaim.host_id).where(
                HostClaim.user_id == user.id, HostClaim.status == "approved"
            )
        )
    )
    rooms = {room.share_url: room for room in rooms_of(session, user)}
    clauses = []
    if host_ids:
        clauses.append(Space.host_id.in_(host_ids))
    if rooms:
        clauses.append(Space.canonical_url.in_(list(rooms)))
    if not clauses:
        return []
    spaces = session.scalars(
        select(Space)
        .where(or_(*clauses), Space.hidden.is_(False))
        .order_by(Space.updated_at.desc(), Space.id.desc())
        .limit(limit)
    ).unique()
    found = []
    for space in spaces:
        sightings = list(
            session.scalars(
                select(Sighting)
                .where(Sighting.space_id == space.id)
                .order_by(Sighting.last_seen.desc())
                .limit(10)
            )
        )
        found.append(
            HostedSpace(
                space=space,
                room=rooms.get(space.canonical_url),
                series=listener_series(session, space.id),
                sightings=sightings,
            )
        )
    return found
