"""People with accounts, and what they asked to hear of: follows, reminders, alerts, notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.catalog.models.base import Base
from core.timeutil import utcnow


class User(Base):
    """A person with an account: a listener, and perhaps a host or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lowercased
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    # The public name people see: 3-30 of [a-z0-9_], stored lowercased, unique. The room
    # server knows the person by "user-<id>" instead, which never changes.
    handle: Mapped[str] = mapped_column(String(30), unique=True)
    is_host: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # A protected account can never host: the room server never gets a host grant for it.
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when the person followed the link mailed to the address.
    email_verified_at: Mapped[datetime | None]
    # A suspended account cannot sign in; its sessions ended when it was suspended.
    suspended_at: Mapped[datetime | None]
    # Two-factor sign-in (RFC 6238): the base32 secret, set once confirmed with a code,
    # and the hashes of the unused recovery codes.
    totp_secret: Mapped[str] = mapped_column(String(64), default="")
    totp_enabled_at: Mapped[datetime | None]
    recovery_codes: Mapped[list[str]] = mapped_column(default=list)
    # Mail waits for a quiet digest instead of going out at once.
    mail_digest: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def can_host(self) -> bool:
        return self.is_host and not self.protected and self.suspended_at is None


class Follow(Base):
    """A user follows a host, by handle (the same handle on every platform)."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "handle"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    handle: Mapped[str] = mapped_column(String(120), index=True)  # stored lowercased
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Reminder(Base):
    """A user asked to be told when a scheduled space starts."""

    __tablename__ = "reminders"
    __table_args__ = (UniqueConstraint("user_id", "space_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None]


class SavedSearch(Base):
    """A keyword alert: tell the user when a space matching `query` goes live."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    query: Mapped[str] = mapped_column(String(500))
    lang: Mapped[str] = mapped_column(String(12), default="")
    topic: Mapped[str] = mapped_column(String(100), default="")
    # Lets feed readers fetch the search's Atom feed without a session.
    feed_token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SavedSearchHit(Base):
    """A space that matched a saved search when it went live; one row per pair, ever."""

    __tablename__ = "saved_search_hits"
    __table_args__ = (UniqueConstraint("search_id", "space_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    search_id: Mapped[int] = mapped_column(
        ForeignKey("saved_searches.id", ondelete="CASCADE"), index=True
    )
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class LiveAnnouncement(Base):
    """Notifications for this space's live period (since `live_since`) were delivered."""

    __tablename__ = "live_announcements"

    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    live_since: Mapped[datetime | None]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    """An in-app message to one user: a reminder, a followed host or an alert went live."""

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_user_read", "user_id", "read_at"),
        Index("ix_notifications_planned", "planned_at", "dispatched_at"),
        UniqueConstraint("user_id", "kind", "space_id", "dedupe"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # core.catalog.people.TRIGGERS
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # Tells apart notices of one kind about one space (a live period, a saved search).
    dedupe: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(String(500))
    # Where the notice leads, a path on the portal ("" : the space's page, if any).
    link: Mapped[str] = mapped_column(String(500), default="")
    # Delivery on the person's channels: handed to a delivery job, then planned (its
    # deliveries written). Both None: waiting for the dispatcher.
    dispatched_at: Mapped[datetime | None]
    planned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]
