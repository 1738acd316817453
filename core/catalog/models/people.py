"""What keeps people's accounts and reaches them: sessions, devices, choices, deliveries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.catalog.models.base import Base
from core.timeutil import utcnow


class AuthSession(Base):
    """A signed-in session, held here so signing out ends it for every copy of the cookie.

    The cookie carries only the session's random id; `id` is its SHA-256, so a leak of
    this table signs nobody in.
    """

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")


class PushDevice(Base):
    """A browser a person subscribed to Web Push (RFC 8030): where and how to encrypt."""

    __tablename__ = "push_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))  # the browser's public key, base64url
    auth: Mapped[str] = mapped_column(String(100))  # the shared auth secret, base64url
    label: Mapped[str] = mapped_column(String(200), default="")  # "Chrome on Android"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]


class NotifyChoice(Base):
    """How a person wants to hear of one trigger: in the app only, push, email or both."""

    __tablename__ = "notify_choices"
    __table_args__ = (UniqueConstraint("user_id", "trigger"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))  # core.catalog.people.TRIGGERS
    channels: Mapped[str] = mapped_column(String(20), default="")  # "app"|"push"|"email"|"both"


class Delivery(Base):
    """One notification sent, or to be sent, on one channel to one target, once.

    The unique key is the exactly-once promise: a (notification, channel, target) is
    claimed by inserting this row before anything is sent, so a job run twice or two
    workers seeing one change send it once.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", "target"),
        Index("ix_deliveries_status", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))  # push | email
    target: Mapped[str] = mapped_column(String(40), default="")  # a push device id, or ""
    # pending | sending | sent | failed (to retry) | dead (gave up) | digest (waits for one)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]


class HostRequest(Base):
    """A listener asks to become a host; an admin approves or refuses it."""

    __tablename__ = "host_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    status: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    # pending | approved | refused
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str] = mapped_column(String(500), default="")  # the admin's words to them
