"""What admins decide and review: reports, overrides, bans, the audit log, editors' picks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.catalog.models.base import Base
from core.catalog.models.spaces import Space
from core.timeutil import utcnow


class Report(Base):
    """A user's report that a space breaks the rules; admins review open ones."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(40))  # one of portal.listeners.reports.REASONS
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | resolved
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class SpaceCuration(Base):
    """What admins decided about a space; the crawler and checks never overwrite it."""

    __tablename__ = "space_curation"

    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str | None] = mapped_column(String(300))  # None: the crawled title
    topics: Mapped[list[str] | None]  # None: the crawled topics
    pinned_at: Mapped[datetime | None] = mapped_column(index=True)
    # Why the space is hidden: "admin", "merge", "ban:host:<id>", "ban:domain:<name>".
    hidden_by: Mapped[str | None] = mapped_column(String(300), index=True)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    # Ids of the sightings a merge moved here, to move back on undo.
    merged_sightings: Mapped[list[int]] = mapped_column(default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    space: Mapped[Space] = relationship(foreign_keys=[space_id])


class Ban(Base):
    """A banned host or domain: its spaces are hidden and the crawler skips the domain."""

    __tablename__ = "bans"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # host | domain
    value: Mapped[str] = mapped_column(String(300))  # a host id, or a lower-case domain
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One admin action: who, what, when, why, and the state before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(400), index=True)  # "space:12", "domain:x.org"
    reason: Mapped[str] = mapped_column(String(1000))
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    after: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    undo_of: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"))
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("audit_log.id", ondelete="SET NULL"))


class PickList(Base):
    """A named collection of spaces chosen by editors, shown on the home page."""

    __tablename__ = "pick_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    items: Mapped[list[PickItem]] = relationship(
        back_populates="pick_list", cascade="all, delete-orphan", order_by="PickItem.position"
    )


class PickItem(Base):
    """One space in an editor's pick list."""

    __tablename__ = "pick_items"
    __table_args__ = (UniqueConstraint("list_id", "space_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    list_id: Mapped[int] = mapped_column(ForeignKey("pick_lists.id", ondelete="CASCADE"))
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    pick_list: Mapped[PickList] = relationship(back_populates="items")
