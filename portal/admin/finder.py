"""The admin spaces list: find spaces by words, state, host and curation flag, with counts.

Each filter is counted with the others applied, so an admin sees how many spaces a
choice would leave before making it, as on the public search page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select
from sqlalchemy.orm import Session

from core.catalog.models import Host, Report, Space, SpaceCuration

PER_PAGE = 50
MAX_TEXT = 200

#: The states an admin filters by, in the order the form offers them.
STATES: dict[str, str] = {
    "live": "Live",
    "scheduled": "Scheduled",
    "ended": "Ended",
    "unknown": "Not checked yet",
    "gone": "Gone",
}
#: The curation flags, with the words the form and the cards use.
FLAGS: dict[str, str] = {
    "featured": "Featured",
    "pinned": "Pinned",
    "hidden": "Hidden",
    "banned": "Hidden by a ban",
    "reported": "Reported (open)",
    "merged": "Merged away",
    "edited": "Title or topics edited",
}


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _flag(name: str) -> ColumnElement[bool]:
    curation = select(SpaceCuration.space_id).where(SpaceCuration.space_id == Space.id)
    if name == "featured":
        return Space.featured.is_(True)
    if name == "hidden":
        return Space.hidden.is_(True)
    if name == "reported":
        return exists().where(Report.space_id == Space.id, Report.status == "open")
    if name == "pinned":
        return exists(curation.where(SpaceCuration.pinned_at.is_not(None)))
    if name == "merged":
        return exists(curation.where(SpaceCuration.merged_into.is_not(None)))
    if name == "banned":
        return and_(
            Space.hidden.is_(True),
            exists(curation.where(SpaceCuration.hidden_by.like("ban:%"))),
        )
    if name == "edited":
        edited = or_(SpaceCuration.title.is_not(None), SpaceCuration.topics.is_not(None))
        return exists(curation.where(edited))
    return false()


@dataclass
class Filters:
    """What the admin asked for, as typed, and what was wrong with it, by field."""

    q: str = ""
    state: str = ""
    host: str = ""
    flag: str = ""
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """Read the filters from a query string; unknown choices become field errors."""
        found = cls(
            q=(args.get("q") or "").strip()[:MAX_TEXT],
            state=(args.get("state") or "").strip(),
            host=(args.get("host") or "").strip()[:MAX_TEXT],
            flag=(args.get("flag") or "").strip(),
        )
        if found.state and found.state not in STATES:
            found.errors["state"] = "Choose one of the states listed."
        if found.flag and found.flag not in FLAGS:
            found.errors["flag"] = "Choose one of the flags listed."
        if found.host.lstrip("@") == "" and found.host:
            found.errors["host"] = "Type a host's handle or name, like @ada or Ada Lee."
        return found

    @property
    def active(self) -> bool:
        """Say whether any filter narrows the list."""
        return bool(self.conditions())

    def conditions(self, *, without: str = "") -> list[ColumnElement[bool]]:
        """Return the SQL conditions of the valid filters, leaving out the one named."""
        found: list[ColumnElement[bool]] = []
        if self.q and without != "q":
            if self.q.isdigit():
                found.append(Space.id == int(self.q))
            else:
                like = _like(self.q)
                found.append(
                    or_(
                        Space.title.ilike(like, escape="\\"),
                        Space.canonical_url.ilike(like, escape="\\"),
                    )
                )
        if self.host and "host" not in self.errors and without != "host":
            like = _like(self.host.lstrip("@"))
            hosts = select(Host.id).where(
                or_(Host.handle.ilike(like, escape="\\"), Host.name.ilike(like, escape="\\"))
            )
            found.append(Space.host_id.in_(hosts))
        if self.state and "state" not in self.errors and without != "state":
            found.append(Space.state == self.state)
        if self.flag and "flag" not in self.errors and without != "flag":
            found.append(_flag(self.flag))
        return found

    def args(self, **changes: str) -> dict[str, str]:
        """Return the query string of these filters with some changed (for links)."""
        values = {"q": self.q, "state": self.state, "host": self.host, "flag": self.flag}
        values.update(changes)
        return {k: v for k, v in values.items() if v}


@dataclass
class Found:
    """One page of matching spaces, how many match in all, and the counts per choice."""

    spaces: list[Space]
    total: int
    states: dict[str, int]
    flags: dict[str, int]


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count(Space.id)).where(*conditions)) or 0)


def find(session: Session, filters: Filters, *, limit: int = PER_PAGE) -> Found:
    """Return the spaces matching `filters`, most recently changed first, with counts."""
    conditions = filters.conditions()
    query: Select[Any] = (
        select(Space)
        .where(*conditions)
        .order_by(Space.updated_at.desc(), Space.id.desc())
        .limit(limit)
    )
    spaces = list(session.scalars(query).unique())
    by_state = dict(
        session.execute(
            select(Space.state, func.count(Space.id))
            .where(*filters.conditions(without="state"))
            .group_by(Space.state)
        ).all()
    )
    others = filters.conditions(without="flag")
    return Found(
        spaces=spaces,
        total=_count(session, conditions),
        states={name: int(by_state.get(name, 0)) for name in STATES},
        flags={name: _count(session, [*others, _flag(name)]) for name in FLAGS},
    )
