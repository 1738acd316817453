"""What a feed shares: the spaces its entries and live items name, and links to read next.

One reading for every way a feed arrives: crawled (crawler.feeds), or pushed by its
WebSub hub (worker.websub). An entry's own link is a page to read, or a space the
feed shares; the links written in its body (as hrefs or as plain text) are shared by
the entry's permalink, with the entry's text as the post around them. A podcast's live
shows (Podcasting 2.0 liveItems) are spaces with the state the feed gives them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.catalog.records import SpaceRecord
from core.extract.feeds import ENTRIES_MAX, Feed, FeedEntry
from core.extract.links import find_links
from core.extract.text import ANCHOR_MAX, DESCRIPTION_MAX, clean_text
from core.platforms.podcast import live_records
from core.platforms.registry import canonical_url, recognise


@dataclass
class FeedShare:
    """A space a feed shares: its record, the page that shared it, the link's text."""

    record: SpaceRecord
    page_url: str
    anchor_text: str = ""


@dataclass
class FeedFinds:
    """What a feed shares: spaces, (canonical link, text, sharing page) to read next, its hub.

    `hub` and `self_url` are the WebSub hub and topic the feed names ("" if none).
    """

    spaces: list[FeedShare] = field(default_factory=list)
    follow: list[tuple[str, str, str]] = field(default_factory=list)
    hub: str = ""
    self_url: str = ""
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
        self.spaces.append(FeedShare(record, page, text))


def feed_finds(feed: Feed, url: str) -> FeedFinds:
    """Return what the parsed feed or sitemap read from `url` shares."""
    here = canonical_url(url)
    finds = FeedFinds(hub=feed.hub, self_url=feed.self_url)
    shows: set[str] = set()
    for record in live_records(feed, url, recognise=recognise):
        if record.url not in shows:
            shows.add(record.url)
            finds.spaces.append(FeedShare(record, here, record.title))
    for entry in feed.entries:
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
            # A link with no words of its own (written as text, an image) is headed by
            # the entry's title.
            finds.add(link, found.text or entry.title, sharer, context)
