"""SQLAlchemy models of the catalog."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from core.catalog.states import State
from core.timeutil import utcnow


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware UTC datetimes; SQLite hands back naive ones, so re-attach UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog; use timeutil.utcnow()")
        return value

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        from datetime import UTC

        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict: JSON, list: JSON}


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
    topics: Mapped[list] = mapped_column(default=list)
    lang: Mapped[str] = mapped_column(String(12), default="")
    source: Mapped[str] = mapped_column(String(2000), default="")  # page it was found on
    status_url: Mapped[str] = mapped_column(String(2000), default="")
    player_url: Mapped[str] = mapped_column(String(2000), default="")
    featured: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    last_checked_at: Mapped[datetime | None]
    last_verified_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None]
    check_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_check_error: Mapped[str] = mapped_column(String(500), default="")
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


class Source(Base):
    """Something to crawl on an interval: a seed page, feed, sitemap or directory."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    kind: Mapped[str] = mapped_column(String(20), default="page")
    interval_s: Mapped[int] = mapped_column(Integer, default=300)
    depth: Mapped[int] = mapped_column(Integer, default=1)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    next_run_at: Mapped[datetime | None]
    last_run_at: Mapped[datetime | None]
    last_pages: Mapped[int] = mapped_column(Integer, default=0)
    last_spaces: Mapped[int] = mapped_column(Integer, default=0)
    last_errors: Mapped[int] = mapped_column(Integer, default=0)
    last_duration_s: Mapped[float] = mapped_column(Float, default=0.0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


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


class User(Base):
    """A person with an account: a listener, and perhaps a host or an admin."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # stored lowercased
    password_hash: Mapped[str] = mapped_column(String(256))
    display_name: Mapped[str] = mapped_column(String(100), default="")
    is_host: Mapped[bool] = mapped_column(Boolean, default=False)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # A protected account can never host: the room server never gets a host grant for it.
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def can_host(self) -> bool:
        return self.is_host and not self.protected


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
        UniqueConstraint("user_id", "kind", "space_id", "dedupe"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # reminder | starting | follow | search
    space_id: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"))
    # Tells apart notices of one kind about one space (a live period, a saved search).
    dedupe: Mapped[str] = mapped_column(String(64), default="")
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]


class Report(Base):
    """A user's report that a space breaks the rules; admins review open ones."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    space_id: Mapped[int] = mapped_column(ForeignKey("spaces.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(40))  # one of listeners.reports.REASONS
    detail: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)  # open | resolved
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Submission(Base):
    """A space link a host asked the portal to crawl; admins see it in their queue."""

    __tablename__ = "submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    url: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(20), default="queued", index=True)
    # queued (crawl asked for) | reviewed | rejected
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


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


class SpaceCuration(Base):
    """What admins decided about a space; the crawler and checks never overwrite it."""

    __tablename__ = "space_curation"

    space_id: Mapped[int] = mapped_column(
        ForeignKey("spaces.id", ondelete="CASCADE"), primary_key=True
    )
    title: Mapped[str | None] = mapped_column(String(300))  # None: the crawled title
    topics: Mapped[list | None]  # None: the crawled topics
    pinned_at: Mapped[datetime | None] = mapped_column(index=True)
    # Why the space is hidden: "admin", "merge", "ban:host:<id>", "ban:domain:<name>".
    hidden_by: Mapped[str | None] = mapped_column(String(300), index=True)
    merged_into: Mapped[int | None] = mapped_column(ForeignKey("spaces.id", ondelete="SET NULL"))
    merged_sightings: Mapped[list] = mapped_column(default=list)  # moved, to move back on undo
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
    before: Mapped[dict] = mapped_column(default=dict)
    after: Mapped[dict] = mapped_column(default=dict)
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
