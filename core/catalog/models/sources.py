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
