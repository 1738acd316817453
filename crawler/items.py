"""What spiders yield: spaces found on pages, with where they were found."""

from __future__ import annotations

from dataclasses import dataclass

from core.catalog.records import SpaceRecord


@dataclass
class FoundSpace:
    """A space seen while crawling: its record, the page that shared it, the link's text.

    `page_url` is empty when the space page was itself a start URL: nothing shared it.
    `source` is the start URL whose crawl reached it (a crawl may read several sources).
    """

    record: SpaceRecord
    page_url: str = ""
    anchor_text: str = ""
    source: str = ""


@dataclass
class Share:
    """A page linking to a space already found in this crawl: one more sighting of it."""

    space_url: str
    page_url: str
    anchor_text: str = ""


@dataclass
class FeedHub:
    """The WebSub hub (and topic) a listed feed names; an empty hub: it names none now."""

    feed_url: str
    hub: str = ""
    topic: str = ""
