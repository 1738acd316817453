"""Spaces as the web shares them: hosts, spaces, the pages that shared them, and their history."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.catalog.models.base import Base
from core.catalog.states import State
from core.timeutil import utcnow


class Host(Base):
    __tablename__ = "hosts"
    __table_args__ = (UniqueConstraint("platform", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Where the handle is unique: "x" (global accounts) or "<platform>:<netloc>".
    platform: Mapped[str] = mapped_column(String(40))
    handle: Mapped[str] = mapped_column(String(120), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    url: Mapped[str] = mapped_column(String(2000), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    spaces: Mapped[list[Space]] = relationship(back_populates="host")


class Space(Base):
    __tablename__ = "spaces"
    __table_args__ = (
        Index("ix_spaces_state_next_check", "state", "next_check_at"),
        Index("ix_spaces_next_check", "next_check_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    canonical_url: Mapped[str] = mapped_column(String(2000), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    #: The platform's name (core.platforms), kept in the column first called "kind".
    platform: Mapped[str] = mapped_column("kind", String(20), default="web")
    title: Mapped[str] = mapped_column(String(300), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    host_id: Mapped[int | None] = mapped_column(ForeignKey("hosts.id"), index=True)
    state: Mapped[str] = mapped_column(String(20), default=State.UNKNOWN, index=True)
    listener_count: Mapped[int] = mapped_column(Integer, default=0)
    speaker_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    scheduled_start: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    topics: Mapped[list[str]] = mapped_column(default=list)
    lang: Mapped[str] = mapped_column(String(12), default="")
    # Never written: the pages that shared a space are its sightings, and the API's
    # `source` is its platform. The column stays until a migration drops it.
    source: Mapped[str] = mapped_column(String(2000), default="")
    status_url: Mapped[str] = mapped_column(String(2000), default="")
    player_url: Mapped[str] = mapped_column(String(2000), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    last_checked_at: Mapped[datetime | None]
    last_verified_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    check_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_check_error: Mapped[str] = mapped_column(String(500), default="")
    # Health beside the failures: the last good check, its HTTP status and a reason code.
    last_ok_at: Mapped[datetime | None]
    last_status: Mapped[int] = mapped_column(Integer, default=0)
    check_reason: Mapped[str] = mapped_column(String(40), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped on every change
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    host: Mapped[Host | None] = relationship(back_populates="spaces", lazy="joined")
    sightings: Mapped[list[Sighting]] = relationship(
        back_populates="space", cascade="all, delete-orphan"
    )
    changes: Mapped[list[StateChange]] = relationship(
        back_populates="space", cascade="all, delete-orphan", order_by="StateChange.at"
    )


class Sighting(Base):
    """A page that shared a space's link."""

    __tablename__ = "sightings"
    __table_args__ = (UniqueConstraint("space_id", "page_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    page_url: Mapped[str] = mapped_column(String(2000))
    anchor_text: Mapped[str] = mapped_column(String(500), default="")
    first_seen: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    space: Mapped[Space] = relationship(back_populates="sightings")


class StateChange(Base):
    """One change of a space's liveness state."""

    __tablename__ = "state_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    from_state: Mapped[str] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    reason: Mapped[str] = mapped_column(String(200), default="")

    space: Mapped[Space] = relationship(back_populates="changes")


class SpaceCheck(Base):
    """One liveness check of a space: when, whether it answered, and what it said."""

    __tablename__ = "space_checks"
    __table_args__ = (Index("ix_space_checks_space_at", "space_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    state: Mapped[str] = mapped_column(String(20), default="")  # empty when the check failed
    listeners: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(String(300), default="")
