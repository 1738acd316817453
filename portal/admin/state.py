"""Read and set the state of what admins act on, so every action can be undone.

Each admin action is "set this target to this state": the state before is read first
and logged, so undoing an action is setting the target back to it. Targets are named
"kind:key", for example "space:12", "host:3", "domain:spam.example", "source:<url>".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from core.catalog.curation import curation_of, domain_of, hidden_because, hide, unhide
from core.catalog.db import touch
from core.catalog.models import Ban, Host, HostClaim, Report, Sighting, Space, Submission
from core.catalog.sources import (
    InvalidSource,
    add_source,
    find_source,
    pause_source,
    remove_source,
)
from core.timeutil import utcnow

State = dict[str, Any]
#: The models whose rows admins act on through their `status`.
_StatusRow = TypeVar("_StatusRow", Submission, Report, HostClaim)
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")


class ActionError(ValueError):
    """An admin action that cannot be done; the message says why and what to do.

    `field` names the form field at fault (empty when no one field is), so the page can
    show the message beside it.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def normalize_domain(text: str) -> str:
    """Return a domain as bans store it (lower case, no scheme); raise ActionError if bad."""
    value = (text or "").strip().lower()
    if "://" in value:
        value = domain_of(value)
    value = value.rstrip(".")
    if not value or len(value) > 253 or not _DOMAIN.match(value):
        raise ActionError(f"{text[:80]!r} is not a domain; give one like spam.example", "domain")
    return value


def _space(session: Session, key: str) -> Space:
    space = session.get(Space, int(key)) if key.isdigit() else None
    if space is None:
        raise ActionError(f"there is no space {key}")
    return space


def _bump(space: Space) -> None:
    # Search backends apply versioned writes: without a new version the change is ignored.
    space.version += 1
    space.updated_at = utcnow()


def space_state(session: Session, key: str) -> State:
    """Return everything an admin can change about a space."""
    space = _space(session, key)
    curation = curation_of(session, space)
    return {
        "hidden": bool(space.hidden),
        "hidden_by": curation.hidden_by,
        "featured": bool(space.featured),
        "pinned": curation.pinned_at is not None,
        "title": space.title,
        "title_override": curation.title,
        "topics": list(space.topics or []),
        "topics_override": curation.topics,
        "merged_into": curation.merged_into,
    }


def _move_sightings(session: Session, ids: Iterable[int], to: Space) -> list[int]:
    """Move these sightings to `to`, except pages it already has; return those moved."""
    have = set(session.scalars(select(Sighting.page_url).where(Sighting.space_id == to.id)))
    moved = []
    for sighting in session.scalars(select(Sighting).where(Sighting.id.in_(list(ids)))):
        if sighting.page_url not in have:
            sighting.space_id = to.id
            have.add(sighting.page_url)
            moved.append(sighting.id)
    touch(session, to.id)
    return moved


def _set_merge(session: Session, space: Space, into: int | None) -> None:
    curation = curation_of(session, space)
    if curation.merged_into == into:
        return
    if curation.merged_into is not None:
        session.flush()
        # Declarative typing promises only a FromClause; a mapped class has one Table.
        sightings = Sighting.__table__
        assert isinstance(sightings, Table)
        session.execute(
            sightings.update()
            .where(Sighting.id.in_(list(curation.merged_sightings or [])))
            .values(space_id=space.id)
        )
        touch(session, curation.merged_into)
        curation.merged_sightings, curation.merged_into = [], None
    if into is not None:
        kept = _space(session, str(into))
        if kept.id == space.id:
            raise ActionError("a space cannot be merged into itself")
        if curation_of(session, kept).merged_into is not None:
            raise ActionError(f"space {kept.id} was itself merged away; merge into the kept one")
        own = session.scalars(select(Sighting.id).where(Sighting.space_id == space.id))
        curation.merged_sightings = _move_sightings(session, list(own), kept)
        curation.merged_into = kept.id


def set_space(session: Session, key: str, state: State) -> None:
    """Set a space's admin-controlled fields to `state` (only the keys given)."""
    space = _space(session, key)
    curation = curation_of(session, space)
    if "merged_into" in state:
        _set_merge(session, space, state["merged_into"])
    # Overrides first: the flush hook enforces them on whatever the title becomes.
    if "title_override" in state:
        curation.title = state["title_override"]
    if "topics_override" in state:
        curation.topics = state["topics_override"]
    if "title" in state:
        space.title = state["title"]
    if "topics" in state:
        space.topics = list(state["topics"])
    if "featured" in state:
        space.featured = bool(state["featured"])
    if "pinned" in state:
        if not state["pinned"]:
            curation.pinned_at = None
        elif curation.pinned_at is None:
            curation.pinned_at = utcnow()
    if "hidden" in state:
        if state["hidden"]:
            hide(session, space, state.get("hidden_by") or "admin")
        else:
            unhide(session, space)
    curation.updated_at = utcnow()
    _bump(space)


def _ban(session: Session, kind: str, value: str) -> Ban | None:
    return session.scalar(select(Ban).where(Ban.kind == kind, Ban.value == value))


def spaces_on_domain(session: Session, domain: str) -> list[Space]:
    """Return the spaces on `domain` or any of its subdomains."""
    pattern = "%" + domain.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    rows = session.scalars(select(Space).where(Space.canonical_url.like(pattern, escape="\\")))
    return [
        s
        for s in rows.unique()
        if (d := domain_of(s.canonical_url)) == domain or d.endswith("." + domain)
    ]


def _set_banned(session: Session, kind: str, value: str, banned: bool) -> None:
    why = f"ban:{kind}:{value}"
    ban = _ban(session, kind, value)
    if banned:
        if ban is None:
            session.add(Ban(kind=kind, value=value, created_at=utcnow()))
        if kind == "host":
            spaces = list(session.scalars(select(Space).where(Space.host_id == int(value))))
        else:
            spaces = spaces_on_domain(session, value)
        for space in spaces:
            if not space.hidden:
                hide(session, space, why)
                _bump(space)
        return
    if ban is not None:
        session.delete(ban)
    for space in hidden_because(session, why):
        unhide(session, space)
        _bump(space)


def host_state(session: Session, key: str) -> State:
    """Return whether a host is banned."""
    if not key.isdigit() or session.get(Host, int(key)) is None:
        raise ActionError(f"there is no host {key}")
    return {"banned": _ban(session, "host", key) is not None}


def set_host(session: Session, key: str, state: State) -> None:
    """Ban or unban a host: its spaces are hidden while the ban holds."""
    host_state(session, key)
    _set_banned(session, "host", key, bool(state["banned"]))


def domain_state(session: Session, key: str) -> State:
    """Return whether a domain is banned."""
    return {"banned": _ban(session, "domain", normalize_domain(key)) is not None}


def set_domain(session: Session, key: str, state: State) -> None:
    """Ban or unban a domain: its spaces are hidden and the crawler skips it."""
    _set_banned(session, "domain", normalize_domain(key), bool(state["banned"]))


def source_state(session: Session, key: str) -> State:
    """Return a source's settings, or that it does not exist."""
    source = find_source(session, key)
    if source is None:
        return {"exists": False}
    return {
        "exists": True,
        "kind": source.kind,
        "query": source.query,
        "interval_s": source.interval_s,
        "depth": source.depth,
        "paused": source.paused,
    }


def set_source(session: Session, key: str, state: State) -> None:
    """Add, change, pause, resume or remove a crawl source."""
    try:
        if not state.get("exists", True):
            remove_source(session, key)
            return
        current = source_state(session, key)
        settings = ("kind", "query", "interval_s", "depth")
        if not current["exists"] or any(k in state for k in settings):
            merged = {**current, **state}
            add_source(
                session,
                key,
                kind=merged.get("kind", "page"),
                interval_s=int(merged.get("interval_s", 300)),
                depth=int(merged.get("depth", 1)),
                query=str(merged.get("query", "")),
            )
        if "paused" in state:
            pause_source(session, key, paused=bool(state["paused"]))
    except InvalidSource as error:
        raise ActionError(str(error)) from None


def _row_status(model: type[_StatusRow]) -> tuple[Callable[..., State], Callable[..., None]]:
    """Return (read, set) of the `status` of one row of `model`."""
    name = model.__tablename__

    def row(session: Session, key: str) -> _StatusRow:
        found = session.get(model, int(key)) if key.isdigit() else None
        if found is None:
            raise ActionError(f"there is no {name[:-1].replace('_', ' ')} {key}")
        return found

    def read(session: Session, key: str) -> State:
        return {"status": row(session, key).status}

    def write(session: Session, key: str, state: State) -> None:
        found = row(session, key)
        found.status = state["status"]
        if isinstance(found, Report):
            found.resolved_at = utcnow() if found.status != "open" else None
        if isinstance(found, HostClaim):
            found.decided_at = utcnow() if found.status != "pending" else None

    return read, write


KINDS: dict[str, tuple[Callable[[Session, str], State], Callable[[Session, str, State], None]]] = {
    "space": (space_state, set_space),
    "host": (host_state, set_host),
    "domain": (domain_state, set_domain),
    "source": (source_state, set_source),
    "submission": _row_status(Submission),
    "report": _row_status(Report),
    "claim": _row_status(HostClaim),
}
