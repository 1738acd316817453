"""What hosts do through the portal: links they submit, hosts they claim, rooms they open."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.catalog.models.base import Base
from core.catalog.models.spaces import Host
from core.timeutil import utcnow


class Submission(Base):
    """A space link a host asked the portal to crawl; admins see it in their queue."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # queued (crawl asked for) | reviewed | rejected: the admins' review, not the crawl's
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # What the crawl of the link found: pending | found | nothing | failed (| unknown:
    # submitted before outcomes were recorded).
    outcome: Mapped[str] = mapped_column(String(10), default="pending")
    found_urls: Mapped[list[str]] = mapped_column(default=list)  # spaces' canonical URLs
    reason: Mapped[str] = mapped_column(String(500), default="")  # why it failed
    crawled_at: Mapped[datetime | None]


class HostClaim(Base):
    """A user's request to be recognised as a host; an admin approves or rejects it."""

    __tablename__ = "host_claims"
    __table_args__ = (UniqueConstraint("user_id", "host_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    host_id: Mapped[int] = mapped_column(ForeignKey("hosts.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    # pending | approved | rejected
    message: Mapped[str] = mapped_column(String(1000), default="")  # how to verify them
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None]

    host: Mapped[Host] = relationship(lazy="joined")


class HostedRoom(Base):
    """A room a host opened on the room server from the portal."""

    __tablename__ = "hosted_rooms"
    __table_args__ = (UniqueConstraint("share_url"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    room_id: Mapped[str] = mapped_column(String(64))
    rooms_url: Mapped[str] = mapped_column(String(2000))  # the server's base URL then
    share_url: Mapped[str] = mapped_column(String(2000))  # also the space's canonical URL
    title: Mapped[str] = mapped_column(String(300), default="")
    scheduled_start: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
