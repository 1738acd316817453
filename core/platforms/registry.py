"""Every platform the product knows, and the questions asked of all of them at once.

To add a platform, write its module beside the others (a Platform subclass, see
core.platforms.base) and add an instance of it to PLATFORMS below.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from parsel import Selector

from core import urls
from core.catalog.records import SpaceRecord
from core.extract.pages import as_selector
from core.platforms.base import Platform
from core.platforms.nostr import Nostr
from core.platforms.podcast import Podcast
from core.platforms.rooms import RoomServer
from core.platforms.web import EventPage
from core.platforms.x import XSpaces

#: Every platform, in the order a page or link is offered to them: the most specific
#: first, so a room server's page is a room, not just an event page.
PLATFORMS: tuple[Platform, ...] = (RoomServer(), XSpaces(), Nostr(), Podcast(), EventPage())
_BY_NAME = {platform.name: platform for platform in PLATFORMS}
_GENERIC = _BY_NAME[EventPage.name]


def get(name: str) -> Platform:
    """Return the platform called `name`; an unknown name gets the generic event page's."""
    return _BY_NAME.get(name, _GENERIC)


def recognise(url: str) -> tuple[Platform, str] | None:
    """Return the platform whose space `url` links to, by its address, and its canonical link."""
    for platform in PLATFORMS:
        if link := platform.link(url):
            return platform, link
    return None


def canonical_url(url: str, base: str = "") -> str:
    """Return the one spelling of `url`: a platform's canonical link, else the generic form."""
    url = (url or "").strip()
    found = recognise(urljoin(base, url) if base else url)
    return found[1] if found else urls.canonical_url(url, base)


def fetchable(url: str) -> bool:
    """Say whether the crawler can read `url`'s page (no platform says it cannot)."""
    return all(platform.fetchable(url) for platform in PLATFORMS)


def read_page(page: str | Selector, url: str, *, now: datetime | None = None) -> SpaceRecord | None:
    """Return the record of the space whose own page this is, by the first platform that knows."""
    sel = as_selector(page)
    for platform in PLATFORMS:
        record = platform.read_page(sel, url, now=now)
        if record is not None:
            return record
    return None
