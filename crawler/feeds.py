"""Read link lists out of directories: Atom and RSS feeds, sitemaps and sitemap indexes.

An entry's own link is a page to read (or a space); the links written in its body,
as hrefs or as plain text, are links the entry shares: their sharing page is the
entry's permalink, and the entry's text is the post around them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.extract.feeds import ENTRIES_MAX, FeedEntry, parse_feed
from core.extract.links import find_links
from core.extract.text import ANCHOR_MAX, DESCRIPTION_MAX, clean_text
from core.platforms.registry import canonical_url, recognise
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
    """What a feed shares: spaces, and (canonical link, text, sharing page) to read next."""

    spaces: list[FoundSpace] = field(default_factory=list)
    follow: list[tuple[str, str, str]] = field(default_factory=list)
    _seen: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def add(self, link: str, text: str, page: str, context: str) -> None:
        """Add a link `page` shares: a space if a platform knows its address, else one to read."""
        if (link, page) in self._seen or len(self._seen) >= ENTRIES_MAX * 2:
            return
        self._seen.add((link, page))
        recognised = recognise(link)
        if recognised is None:
            self.follow.append((link, text, page))
            return
        platform, space_url = recognised
        record = platform.shared_record(space_url, clean_text(text, ANCHOR_MAX), context)
        self.spaces.append(FoundSpace(record, page_url=page, anchor_text=text))


def read_feed(body: str, url: str) -> FeedFinds:
    """Return the spaces a feed or sitemap at `url` shares and the links it gives to read."""
    here = canonical_url(url)
    finds = FeedFinds()
    for entry in parse_feed(body, url).entries:
        link = canonical_url(entry.url)
        context = clean_text(entry.text, DESCRIPTION_MAX)
        if link:
            finds.add(link, entry.title, here, context)
        if entry.html:
            # The entry's permalink shares what its body links to; without one, the feed.
            sharer = link if link and recognise(link) is None else here
            _body_links(finds, entry, sharer, context)
    return finds


def _body_links(finds: FeedFinds, entry: FeedEntry, sharer: str, context: str) -> None:
    for found in find_links(entry.html, entry.url or sharer):
        link = canonical_url(found.url)
        if link and link != sharer:
            # A link written as text has no words of its own: the entry's title heads it.
            text = found.text if found.how == "href" else entry.title
            finds.add(link, text, sharer, context)
