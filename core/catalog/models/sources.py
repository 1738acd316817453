"""What the crawler reads on a schedule."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.catalog.models.base import Base
from core.timeutil import utcnow


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
    #: What to ask a social API or relay for (a search query, comma-separated tags).
    query: Mapped[str] = mapped_column(String(500), default="")
    #: Where the last poll stopped (a since_id, a paging cursor, a created_at).
    cursor: Mapped[str] = mapped_column(String(500), default="")
    # Validators of the last answer, sent back on the next poll (conditional GET).
    etag: Mapped[str] = mapped_column(String(200), default="")
    last_modified: Mapped[str] = mapped_column(String(100), default="")
    # Health: the last good fetch, the last HTTP status, failures in a row and why.
    last_ok_at: Mapped[datetime | None]
    last_status: Mapped[int] = mapped_column(Integer, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str] = mapped_column(String(40), default="")
    paused_reason: Mapped[str] = mapped_column(String(200), default="")
    # A WebSub subscription, when the feed names a hub.
    websub_hub: Mapped[str] = mapped_column(String(2000), default="")
    websub_topic: Mapped[str] = mapped_column(String(2000), default="")
    websub_secret: Mapped[str] = mapped_column(String(100), default="")
    websub_state: Mapped[str] = mapped_column(String(20), default="")
    websub_lease_until: Mapped[datetime | None]
