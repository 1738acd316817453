"""The catalog's functions for crawl sources: seed pages, feeds, sitemaps, directories."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.catalog.models import Source
from core.catalog.source_health import (
    clear_health_pause,
    record_failure,
    record_success,
    trouble_rank,
)
from core.timeutil import utcnow

#: How a source is read: a "page" as whatever its content turns out to be (a page, or a
#: feed or sitemap when it looks like one); feeds, sitemaps and directories always as a
#: list of links; the API kinds by their own protocol (crawler.sources), not by Scrapy.
LINK_LIST_KINDS = frozenset({"feed", "sitemap", "directory"})
API_KINDS = frozenset({"mastodon", "bluesky", "xsearch", "nostr"})
SOURCE_KINDS = LINK_LIST_KINDS | API_KINDS | {"page"}
#: Relays are reached over WebSocket; every other kind over HTTP(S).
_SCHEMES = {"nostr": ("ws", "wss")}
#: Kinds that read nothing without a query, and what their query is.
_NEEDS_QUERY = {"xsearch": "the words to search X Spaces for"}
#: Paths that say what an http(s) source is: Bluesky profiles and XRPC feed calls,
#: Mastodon hashtag timelines and accounts.
_BLUESKY_PATH = re.compile(r"/profile/[^/]+/?|/xrpc/app\.bsky\.feed\.\w+")
_MASTODON_PATH = re.compile(r"/tags/[^/]+/?|/@[^/@]+(@[^/@]+)?/?")


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


def recognise_kind(url: str) -> str:
    """Return the kind of source `url` plainly is by its shape, else "page".

    The crawler's readers know each protocol best (crawler.sources.reader_for_url);
    this is what a part that cannot ask them (the portal) goes by: relays by their
    scheme, X searches, Bluesky profiles and XRPC calls, Mastodon tags and accounts.
    """
    parts = urlsplit((url or "").strip())
    scheme, path = parts.scheme.lower(), parts.path
    if scheme in _SCHEMES["nostr"]:
        return "nostr"
    if scheme not in ("http", "https"):
        return "page"
    if path.rstrip("/") == "/2/spaces/search":
        return "xsearch"
    if _BLUESKY_PATH.fullmatch(path):
        return "bluesky"
    if _MASTODON_PATH.fullmatch(path):
        return "mastodon"
    return "page"


def source_address(url: str, kind: str, query: str, *, x_api_url: str = "") -> str:
    """Return the address stored for a source of `kind` at `url` asking `query`.

    An X search needs no URL (the configured API's search, with the query in it); a
    Bluesky search on an AppView keeps its query in the URL, so two searches on one
    AppView are two sources. Other kinds are stored at the URL given.
    """
    url = (url or "").strip()
    if kind == "xsearch" and query and urlsplit(url).path.strip("/") in ("", "2/spaces/search"):
        base = urlsplit(url)._replace(path="", query="").geturl() if url else x_api_url
        return f"{base.rstrip('/')}/2/spaces/search?{urlencode({'query': query})}"
    if kind == "bluesky" and query and urlsplit(url).path.strip("/") == "":
        return f"{url.rstrip('/')}/xrpc/app.bsky.feed.searchPosts?{urlencode({'q': query})}"
    return url


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
    if kind in _NEEDS_QUERY and not query:
        raise InvalidSource(f"a {kind} source needs a query: {_NEEDS_QUERY[kind]}")
    normalized = normalize_source_url(url, kind)
    source = session.scalar(select(Source).where(Source.url == normalized))
    if source is None:
        # A new source is due at once, so adding one shows results without waiting.
        now = now or utcnow()
        source = Source(url=normalized, next_run_at=now, created_at=now)
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
    reason: str = "",
    status: int = 0,
    cursor: str | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    retry_after_s: float = 0.0,
    now: datetime | None = None,
) -> Source | None:
    """Record one crawl or poll of a source and set its next run; None if it was removed.

    `reason` (a code of source_health.REASON_WORDS) says the run failed; empty means it read the
    source. A failing source backs off and, broken for days, is paused (see health).
    """
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
    if status:
        source.last_status = status
    if reason:
        record_failure(source, reason[:40], now=now, retry_after_s=retry_after_s)
        return source
    record_success(source, now=now)
    if cursor is not None:
        source.cursor = cursor[:500]
    if etag is not None:
        source.etag = etag[:200]
    if last_modified is not None:
        source.last_modified = last_modified[:100]
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


def sources_by_trouble(session: Session) -> list[Source]:
    """Return every source, those paused for ill health first, then failing, then healthy."""
    return sorted(list_sources(session), key=trouble_rank)


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
        clear_health_pause(found)
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
