"""The interface every platform implements, and what its liveness checks hand back.

A platform is one kind of space: X Spaces, room servers like ours, event pages. The
crawler, the liveness workers and the portal know nothing of any kind in particular;
they ask the registry (core.platforms.registry) for the platform of a link, a page or
a space and call it through this interface.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol

import aiohttp
import redis
from parsel import Selector

from core.catalog.records import Observation, SpaceRecord
from core.config import Config
from core.webfetch import Fetcher


class SpaceRow(Protocol):
    """What a platform reads off a catalog space to check it (a Space, or a row of one)."""

    @property
    def id(self) -> int: ...

    @property
    def url(self) -> str: ...

    @property
    def status_url(self) -> str: ...


@dataclass(frozen=True)
class Probe:
    """How to check one space: by which means (`how`) and at which address (`target`).

    `how` is what the liveness metrics count checks by ("status", "page", "x"); `target`
    is a URL to fetch, or the platform's own id of the space.
    """

    space_id: int
    platform: str
    how: str
    target: str


@dataclass
class Outcome:
    """What checks found: an Observation per space checked, and spaces to check later."""

    observations: dict[int, Observation] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)
    resume_at: datetime | None = None  # when the deferred ones may be checked again

    def merge(self, other: Outcome) -> None:
        """Add another batch's findings to these."""
        self.observations.update(other.observations)
        self.deferred.extend(other.deferred)
        if other.resume_at is not None:
            self.resume_at = max(filter(None, (self.resume_at, other.resume_at)))


@dataclass(frozen=True)
class Checking:
    """What a liveness check may use: guarded fetches, an API session, settings, Redis."""

    fetch: Fetcher  # crawled URLs, held to the private-address guard
    api: aiohttp.ClientSession  # APIs an operator configured (not guarded: may be local)
    config: Config
    redis: redis.Redis  # shared by every worker: rate limits and such
    timeout_s: float


class Platform:
    """One kind of space. Subclasses override what their kind can do; the rest is inert."""

    #: The platform's name: stored on each space and shown as the API's `source`.
    name: ClassVar[str] = ""
    #: The portal's call to action where it links out to the space instead of playing it.
    listen_label: ClassVar[str] = "Open space"
    #: Whether the space's player (its `player_url`) can be embedded in the portal.
    embeds_player: ClassVar[bool] = False

    def link(self, url: str) -> str:
        """Return the one canonical form of `url` if it links to a space here, else ""."""
        return ""

    def fetchable(self, url: str) -> bool:
        """Say whether the crawler can read the page at `url` (some sites need a login)."""
        return True

    def app_link(self, url: str) -> str:
        """Return the address apps of this platform open for a space with no web page, or ""."""
        return ""

    def read_page(
        self, page: Selector, url: str, *, now: datetime | None = None
    ) -> SpaceRecord | None:
        """Return the record of the space whose own page this is, or None if it is not one."""
        return None

    def shared_record(self, link: str, anchor_text: str, context: str = "") -> SpaceRecord:
        """Return a provisional record of the space at `link` (one this platform recognised).

        `anchor_text` is the link's text and `context` the text of the post around it:
        all that is known of a space whose own page cannot be read.
        """
        return SpaceRecord(url=link, platform=self.name, provisional=True)

    def probe(self, space: SpaceRow, config: Config) -> Probe | None:
        """Return how to check `space`'s liveness, or None when it cannot be checked here."""
        return None

    async def check(self, probes: Sequence[Probe], checking: Checking) -> Outcome:
        """Check a batch of this platform's spaces; never raise for one space's failure."""
        return Outcome()


#: The registry's `recognise`: the platform a URL is a space of, and its canonical link.
#: Platforms that find another platform's space in what they read (a Nostr event or a
#: podcast's live item pointing at an X Space) are handed it, since the registry lists
#: them too.
Recognise = Callable[[str], tuple[Platform, str] | None]
