"""Read link lists out of directories: Atom and RSS feeds, sitemaps and sitemap indexes.

What a feed shares is read by core.platforms.feeds (a pushed feed is read the same
way); here it becomes the crawl's items and the links it follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.extract.feeds import parse_feed
from core.platforms.feeds import feed_finds
from core.platforms.registry import canonical_url
from crawler.items import FoundSpace

FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/xml", "text/xml")


def is_feed(content_type: str, body: bytes) -> bool:
    """Return True if a response looks like a feed or sitemap rather than an HTML page."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in FEED_TYPES:
        return True
    head = body[:512].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith((b"<feed", b"<rss", b"<urlset"))


def feed_links(body: str, url: str) -> list[tuple[str, str]]:
    """Return (canonical link, title) for every entry of an Atom/RSS feed or a sitemap."""
    found: dict[str, str] = {}
    for entry in parse_feed(body, url).entries:
        link = canonical_url(entry.url)
        if link and link not in found:
            found[link] = entry.title
    return list(found.items())


@dataclass
class FeedFinds:
    """What a feed shares: spaces found, links to read next, and the WebSub hub it names."""

    spaces: list[FoundSpace] = field(default_factory=list)
    follow: list[tuple[str, str, str]] = field(default_factory=list)  # (link, text, page)
    hub: str = ""
    self_url: str = ""


def read_feed(body: str, url: str) -> FeedFinds:
    """Return the spaces a feed or sitemap at `url` shares and the links it gives to read."""
    finds = feed_finds(parse_feed(body, url), url)
    return FeedFinds(
        [FoundSpace(share.record, share.page_url, share.anchor_text) for share in finds.spaces],
        finds.follow,
        finds.hub,
        finds.self_url,
    )
