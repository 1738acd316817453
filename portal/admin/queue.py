"""What waits for an admin: new submissions, open reports, host claims, new domains."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.catalog.curation import domain_of
from core.catalog.host_requests import auto_approve, pending
from core.catalog.models import (
    Ban,
    Host,
    HostClaim,
    HostRequest,
    Report,
    Sighting,
    Space,
    Submission,
    User,
)
from core.catalog.notifications import notify_person

log = logging.getLogger(__name__)

NEW_DOMAIN_WINDOW = timedelta(days=7)
MAX_DOMAINS = 30
_RECENT_ROWS = 2000


@dataclass
class NewDomain:
    """A domain first seen in the window: where spaces or shares came from."""

    domain: str
    first_seen: datetime
    count: int
    example: str


def submissions(session: Session, limit: int = 50) -> list[tuple[Submission, str, Space | None]]:
    """Return queued submissions, newest first, with the submitter's email and the space."""
    rows = session.execute(
        select(Submission, User.email)
        .outerjoin(User, User.id == Submission.user_id)
        .where(Submission.status == "queued")
        .order_by(Submission.created_at.desc(), Submission.id.desc())
        .limit(limit)
    ).all()
    urls = [s.url for s, _ in rows]
    spaces = {
        s.canonical_url: s
        for s in session.scalars(select(Space).where(Space.canonical_url.in_(urls))).unique()
    }
    return [(s, email or "(deleted account)", spaces.get(s.url)) for s, email in rows]


def host_requests(session: Session, limit: int = 50) -> list[tuple[HostRequest, User]]:
    """Return requests to host waiting for a decision, oldest first, with who asked."""
    return pending(session, limit)


def hosts_at_once(client: redis.Redis) -> bool | None:
    """Say whether requests to host are approved at once; None if Redis cannot say."""
    try:
        return auto_approve(client)
    except redis.RedisError as error:
        log.warning("the hosting setting is unreadable: %s", error)
        return None


#: What the submitter is told when admins mark their link, by the status it gets.
_SUBMISSION_NOTICES = {
    "reviewed": "An admin looked at the link you submitted and keeps it listed: {url}",
    "rejected": "An admin rejected the link you submitted: {url}",
}


def tell_submitter(session: Session, action: str, target: str) -> None:
    """Notify the person who submitted a link that admins marked it reviewed or rejected."""
    status = {"review submission": "reviewed", "reject submission": "rejected"}.get(action)
    kind, _, key = target.partition(":")
    if status is None or kind != "submission" or not key.isdigit():
        return
    submission = session.get(Submission, int(key))
    if submission is None or submission.user_id is None:
        return
    text = _SUBMISSION_NOTICES[status].format(url=submission.url)
    notify_person(
        session,
        submission.user_id,
        "decision",
        text,
        link="/host/",
        dedupe=f"submission:{submission.id}:{status}",
    )


def reports(session: Session, limit: int = 50) -> list[tuple[Report, Space]]:
    """Return open reports with their spaces, oldest first (they have waited longest)."""
    rows = session.execute(
        select(Report, Space)
        .join(Space, Space.id == Report.space_id)
        .where(Report.status == "open")
        .order_by(Report.created_at, Report.id)
        .limit(limit)
    )
    return [(report, space) for report, space in rows.unique()]


def claims(session: Session, limit: int = 50) -> list[tuple[HostClaim, str]]:
    """Return pending host claims with the claimant's email, oldest first."""
    rows = session.execute(
        select(HostClaim, User.email)
        .join(User, User.id == HostClaim.user_id)
        .where(HostClaim.status == "pending")
        .order_by(HostClaim.created_at, HostClaim.id)
        .limit(limit)
    )
    return [(claim, email) for claim, email in rows.unique()]


def _seen_before(session: Session, domain: str, since: datetime) -> bool:
    patterns = [f"%://{domain}/%", f"%://{domain}:%", f"%://{domain}"]
    old_sighting = session.scalar(
        select(Sighting.id)
        .where(Sighting.first_seen < since, or_(*(Sighting.page_url.like(p) for p in patterns)))
        .limit(1)
    )
    if old_sighting is not None:
        return True
    old_space = session.scalar(
        select(Space.id)
        .where(Space.created_at < since, or_(*(Space.canonical_url.like(p) for p in patterns)))
        .limit(1)
    )
    return old_space is not None


def new_domains(session: Session, now: datetime) -> list[NewDomain]:
    """Return domains whose first share or space is within the last week, newest first."""
    since = now - NEW_DOMAIN_WINDOW
    seen: dict[str, NewDomain] = {}
    recent = [
        *session.execute(
            select(Sighting.page_url, Sighting.first_seen)
            .where(Sighting.first_seen >= since)
            .order_by(Sighting.first_seen.desc())
            .limit(_RECENT_ROWS)
        ),
        *session.execute(
            select(Space.canonical_url, Space.created_at)
            .where(Space.created_at >= since)
            .order_by(Space.created_at.desc())
            .limit(_RECENT_ROWS)
        ),
    ]
    for url, at in recent:
        domain = domain_of(url)
        if not domain:
            continue
        found = seen.get(domain)
        if found is None:
            seen[domain] = NewDomain(domain, at, 1, url)
        else:
            found.count += 1
            found.first_seen = min(found.first_seen, at)
    banned = set(session.scalars(select(Ban.value).where(Ban.kind == "domain")))
    candidates = sorted(seen.values(), key=lambda d: d.first_seen, reverse=True)
    fresh = []
    for candidate in candidates:
        if candidate.domain in banned or _seen_before(session, candidate.domain, since):
            continue
        fresh.append(candidate)
        if len(fresh) >= MAX_DOMAINS:
            break
    return fresh


def counts(session: Session) -> dict[str, int]:
    """Return how many items wait in each part of the queue."""

    def count(
        model: type[Submission] | type[Report] | type[HostClaim] | type[HostRequest], status: str
    ) -> int:
        return int(
            session.scalar(select(func.count()).select_from(model).where(model.status == status))
            or 0
        )

    return {
        "submissions": count(Submission, "queued"),
        "reports": count(Report, "open"),
        "claims": count(HostClaim, "pending"),
        "host_requests": count(HostRequest, "pending"),
    }


def banned(session: Session) -> list[tuple[Ban, Host | None]]:
    """Return every ban, newest first, with the banned host when it is one."""
    bans = list(session.scalars(select(Ban).order_by(Ban.created_at.desc(), Ban.id.desc())))
    ids = [int(b.value) for b in bans if b.kind == "host" and b.value.isdigit()]
    hosts = {h.id: h for h in session.scalars(select(Host).where(Host.id.in_(ids)))}
    return [
        (ban, hosts.get(int(ban.value)) if ban.kind == "host" and ban.value.isdigit() else None)
        for ban in bans
    ]
