"""What hosts do through the portal: submit links, claim host profiles, see their spaces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

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
    """Input a host sent that cannot be used; the message says what to fix.

    `field` names the form field at fault, so the page can show the message beside it.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


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
        raise HostingError("Give the handle you host as, like @ann.", "handle")
    if len(message) > MAX_MESSAGE:
        raise HostingError(f"Keep the note under {MAX_MESSAGE} characters.", "message")
    hosts = list(session.scalars(select(Host).where(func.lower(Host.handle) == clean.lower())))
    if not hosts:
        raise HostingError(
            f"No host @{clean} has been seen yet. Promote one of your spaces first, "
            "then claim the handle.",
            "handle",
        )
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


#: A link still unchecked after this long means the worker is behind (or not running).
BEHIND_AFTER = timedelta(minutes=3)


@dataclass
class Outcome:
    """What a host is told about a link they promoted, in words and links."""

    submission_id: int
    url: str
    state: str  # pending | behind | found | nothing | failed | unknown
    text: str
    spaces: list[tuple[int, str]] = field(default_factory=list)  # (space id, title)

    @property
    def settled(self) -> bool:
        return self.state not in ("pending", "behind")


def outcome_of(session: Session, submission: Submission, now: datetime) -> Outcome:
    """Word what the crawl of a submitted link found, or why it is not known yet."""
    state = submission.outcome
    spaces: list[tuple[int, str]] = []
    if state == "pending":
        if now - submission.created_at >= BEHIND_AFTER:
            state = "behind"
            text = (
                "Not checked yet: the crawler is behind. "
                "The link stays queued and is checked when it catches up."
            )
        else:
            text = "Checking this link…"
    elif state == "found":
        urls = list(submission.found_urls or [])
        rows = session.execute(
            select(Space.id, Space.title, Space.canonical_url).where(
                Space.canonical_url.in_(urls), Space.hidden.is_(False)
            )
        ).all()
        titles = {url: (space_id, title) for space_id, title, url in rows}
        spaces = [(titles[u][0], titles[u][1] or "Untitled space") for u in urls if u in titles]
        count = len(urls)
        text = f"Found {count} space{'s' if count != 1 else ''}"
    elif state == "nothing":
        text = "Found nothing at this address"
    elif state == "failed":
        text = f"Refused: {submission.reason or 'the address could not be read'}"
    else:
        text = "Checked"
    return Outcome(submission.id, submission.url, state, text, spaces)


def outcomes_of(session: Session, user: User, now: datetime, limit: int = 20) -> list[Outcome]:
    """Return the outcomes of the user's latest submissions, newest first."""
    return [outcome_of(session, s, now) for s in submissions_of(session, user, limit)]
