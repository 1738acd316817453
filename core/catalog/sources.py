"""The catalog's functions for crawl sources: seed pages, feeds, sitemaps, directories."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.catalog.models import Source
from core.timeutil import utcnow

#: How a source is read: a "page" as whatever its content turns out to be (a page, or a
#: feed or sitemap when it looks like one); feeds, sitemaps and directories always as a
#: list of links; the API kinds by their own protocol (crawler.sources), not by Scrapy.
LINK_LIST_KINDS = frozenset({"feed", "sitemap", "directory"})
API_KINDS = frozenset({"mastodon", "bluesky", "xsearch", "nostr"})
SOURCE_KINDS = LINK_LIST_KINDS | API_KINDS | {"page"}
#: Relays are reached over WebSocket; every other kind over HTTP(S).
_SCHEMES = {"nostr": ("ws", "wss")}


class InvalidSource(ValueError):
    """A source URL or setting the crawler cannot use."""


def normalize_source_url(url: str, kind: str = "page") -> str:
    """Return `url` with its scheme and host lower-cased; raise InvalidSource if unusable."""
    text = (url or "").strip()
    parts = urlsplit(text)
    schemes = _SCHEMES.get(kind, ("http", "https"))
    if parts.scheme.lower() not in schemes or not parts.hostname:
        wanted = " or ".join(f"{scheme}://" for scheme in schemes)
        raise InvalidSource(f"{text!r} is not a {kind} source address; give a full {wanted} URL")
    netloc = parts.netloc
    # Only the host part is case-insensitive; user info (rare) keeps its case.
    userinfo, _, hostport = netloc.rpartition("@")
    netloc = (userinfo + "@" if userinfo else "") + hostport.lower()
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def get_source_by_url(session: Session, url: str) -> Source | None:
    """Return the source crawling `url`, if there is one."""
    kind = "nostr" if urlsplit(url.strip()).scheme.lower() in _SCHEMES["nostr"] else "page"
    return session.scalar(select(Source).where(Source.url == normalize_source_url(url, kind)))


def add_source(
    session: Session,
    url: str,
    *,
    kind: str = "page",
    interval_s: int = 300,
    depth: int = 1,
    query: str = "",
    now: datetime | None = None,
) -> Source:
    """Add a source to crawl every `interval_s` seconds; adding the same URL again updates it."""
    if kind not in SOURCE_KINDS:
        raise InvalidSource(f"unknown source kind {kind!r}; use one of {sorted(SOURCE_KINDS)}")
    if interval_s < 10:
        raise InvalidSource("a source's interval must be at least 10 seconds")
    if not 0 <= depth <= 5:
        raise InvalidSource("a source's depth must be between 0 and 5")
    if len(query) > 500:
        raise InvalidSource("a source's query must be at most 500 characters")
    normalized = normalize_source_url(url, kind)
    source = session.scalar(select(Source).where(Source.url == normalized))
    if source is None:
        # A new source is due at once, so adding one shows results without waiting.
        source = Source(url=normalized, next_run_at=now or utcnow())
        session.add(source)
    source.kind = kind
    source.interval_s = interval_s
    source.depth = depth
    source.query = query
    session.flush()
    return source


def due_sources(session: Session, now: datetime | None = None, *, limit: int = 100) -> list[Source]:
    """Return the unpaused sources whose next crawl is due, the longest overdue first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(Source)
            .where(
                Source.paused.is_(False),
                Source.next_run_at.is_not(None),
                Source.next_run_at <= now,
            )
            .order_by(Source.next_run_at, Source.id)
            .limit(limit)
        )
    )


def defer_sources(session: Session, source_ids: Iterable[int], until: datetime) -> None:
    """Push the next crawl of these sources to `until` (they are queued; don't pick twice)."""
    ids = list(source_ids)
    if ids:
        session.execute(update(Source).where(Source.id.in_(ids)).values(next_run_at=until))


def record_source_run(
    session: Session,
    source_id: int,
    *,
    pages: int,
    spaces: int,
    errors: int,
    duration_s: float,
    error: str = "",
    now: datetime | None = None,
) -> Source | None:
    """Record one crawl of a source and set its next run; return None if it was removed."""
    now = now or utcnow()
    source = session.get(Source, source_id)
    if source is None:
        return None
    source.last_run_at = now
    source.last_pages = pages
    source.last_spaces = spaces
    source.last_errors = errors
    source.last_duration_s = duration_s
    source.last_error = error[:500]
    source.next_run_at = now + timedelta(seconds=source.interval_s)
    return source


def find_source(session: Session, source: int | str) -> Source | None:
    """Return the source with this id, or crawling this URL, if there is one."""
    if isinstance(source, int):
        return session.get(Source, source)
    try:
        return get_source_by_url(session, source)
    except InvalidSource:
        return None


def list_sources(session: Session) -> list[Source]:
    """Return every source, in the order they were added."""
    return list(session.scalars(select(Source).order_by(Source.id)))


def pause_source(
    session: Session, source: int | str, *, paused: bool = True, now: datetime | None = None
) -> Source | None:
    """Pause (or resume) a source, by id or URL; return None if there is no such source."""
    found = find_source(session, source)
    if found is None:
        return None
    if found.paused and not paused:
        # A resumed source is crawled at once, not after a stale next_run_at.
        found.next_run_at = now or utcnow()
    found.paused = paused
    return found


def resume_source(
    session: Session, source: int | str, *, now: datetime | None = None
) -> Source | None:
    """Resume a paused source's crawls, by id or URL; return None if there is no such source."""
    return pause_source(session, source, paused=False, now=now)


def remove_source(session: Session, source: int | str) -> bool:
    """Delete a source by id or URL; return False if there was none. Its spaces stay."""
    found = find_source(session, source)
    if found is None:
        return False
    session.delete(found)
    session.flush()
    return True


def recrawl_source(
    session: Session, source: int | str, *, now: datetime | None = None
) -> Source | None:
    """Make a source due now (paused or not) so its next crawl is the next one queued."""
    found = find_source(session, source)
    if found is None:
        return None
    found.next_run_at = now or utcnow()
    session.flush()
    return found
