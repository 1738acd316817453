"""Admins' decisions that outlast crawls: title and topic overrides, and bans.

The crawler and the liveness checks write spaces through the catalog's functions,
which know nothing of curation. Rather than teach each writer, a flush hook puts an
admin's title and topics back whenever a writer changed them, and hides a new space
whose host or domain is banned; every writer is covered, including future ones.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from core.catalog.models import AuditEntry, Ban, Space, SpaceCuration
from core.timeutil import utcnow


def add_audit_entry(
    session: Session,
    actor_id: int | None,
    action: str,
    target: str,
    reason: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    """Add one entry to the audit log: who, what, why, and the state before and after."""
    entry = AuditEntry(
        actor_id=actor_id,
        action=action[:40],
        target=target[:400],
        reason=reason,
        before=before,
        after=after,
        at=utcnow(),
    )
    session.add(entry)
    session.flush()
    return entry


def domain_of(url: str) -> str:
    """Return the lower-case host name of `url`, or "" if it has none."""
    try:
        return (urlsplit((url or "").strip()).hostname or "").lower().rstrip(".")
    except ValueError:
        return ""


def _suffixes(domain: str) -> list[str]:
    """Return `domain` and every parent domain: a.b.org, b.org, org."""
    parts = domain.split(".")
    return [".".join(parts[i:]) for i in range(len(parts))]


def banned_domain_of(session: Session, url: str) -> str | None:
    """Return the banned domain that covers `url` (itself or a parent), or None."""
    domain = domain_of(url)
    if not domain:
        return None
    return session.scalar(
        select(Ban.value).where(Ban.kind == "domain", Ban.value.in_(_suffixes(domain))).limit(1)
    )


def is_banned_domain(session: Session, url: str) -> bool:
    """Say whether `url` is on a banned domain or under one."""
    return banned_domain_of(session, url) is not None


def is_banned_host(session: Session, host_id: int | None) -> bool:
    """Say whether the host with this id is banned."""
    if host_id is None:
        return False
    found = session.scalar(
        select(Ban.id).where(Ban.kind == "host", Ban.value == str(host_id)).limit(1)
    )
    return found is not None


def curation_of(session: Session, space: Space) -> SpaceCuration:
    """Return the space's curation row, creating it if there is none yet."""
    # One not yet flushed is not found by get(), and a second one would collide.
    pending = [c for c in session.new if isinstance(c, SpaceCuration) and c.space is space]
    if pending:
        return pending[0]
    curation = session.get(SpaceCuration, space.id) if space.id is not None else None
    if curation is None:
        curation = SpaceCuration(space=space, merged_sightings=[], updated_at=utcnow())
        session.add(curation)
    return curation


def hide(session: Session, space: Space, why: str) -> None:
    """Hide a space and remember why, so lifting that reason shows it again."""
    curation = curation_of(session, space)
    space.hidden = True
    curation.hidden_by = why
    curation.updated_at = utcnow()


def unhide(session: Session, space: Space) -> None:
    """Show a hidden space again."""
    curation = curation_of(session, space)
    space.hidden = False
    curation.hidden_by = None
    curation.updated_at = utcnow()


def hidden_because(session: Session, why: str) -> list[Space]:
    """Return the spaces hidden for this reason."""
    rows = session.scalars(
        select(Space)
        .join(SpaceCuration, SpaceCuration.space_id == Space.id)
        .where(SpaceCuration.hidden_by == why, Space.hidden.is_(True))
    )
    return list(rows.unique())


def _changed(space: Space, names: Iterable[str]) -> bool:
    attrs = inspect(space).attrs
    return any(attrs[name].history.has_changes() for name in names)


def _keep_overrides(session: Session, space: Space) -> None:
    curation = session.get(SpaceCuration, space.id)
    if curation is None:
        return
    if curation.title is not None and space.title != curation.title:
        space.title = curation.title
    if curation.topics is not None and list(space.topics or []) != list(curation.topics):
        space.topics = list(curation.topics)


def _ban_reason(session: Session, space: Space) -> str | None:
    host = space.host
    if host is not None and host.id is not None and is_banned_host(session, host.id):
        return f"ban:host:{host.id}"
    domain = banned_domain_of(session, space.canonical_url or space.url or "")
    return f"ban:domain:{domain}" if domain else None


@event.listens_for(Session, "before_flush")
def _enforce(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty):
        if isinstance(obj, Space) and obj.id is not None and _changed(obj, ("title", "topics")):
            _keep_overrides(session, obj)
    for obj in list(session.new):
        if isinstance(obj, Space) and not obj.hidden:
            reason = _ban_reason(session, obj)
            if reason is not None:
                hide(session, obj, reason)
