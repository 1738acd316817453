"""What a source reader is: one kind of source (a Mastodon tag, a Bluesky search, a relay...).

A reader knows one protocol. It is handed a SourceSpec and a guarded HTTP client and
returns a Poll: the posts it read (links are found in them by crawler.sources.poll) and
any spaces it could read directly (an X search result, a relay's live activity), with
the cursor to resume from next time. It never writes to the catalog itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from core.catalog.records import SpaceRecord
from crawler.sources.http import Http


@dataclass(frozen=True)
class SourceSpec:
    """What a reader needs to know of a source: where, what to ask, where it stopped."""

    url: str
    kind: str
    query: str = ""
    cursor: str = ""
    id: int | None = None
    etag: str = ""
    last_modified: str = ""


@dataclass
class Post:
    """One item a source carries (a status, a post, a feed entry): where links are found."""

    url: str  # its permalink: the page that shared what it links to
    text: str = ""  # plain text
    html: str = ""  # an HTML body
    links: list[str] = field(default_factory=list)  # explicit links: facets, cards, embeds
    data: Any = None  # JSON walked for links
    title: str = ""


@dataclass
class Poll:
    """What one poll read: posts, spaces read directly, and where to resume."""

    posts: list[Post] = field(default_factory=list)
    records: list[tuple[SpaceRecord, str]] = field(default_factory=list)  # (record, page_url)
    cursor: str | None = None  # None: keep the stored cursor
    status: int = 200  # of the source's main request; 304 when nothing changed


class Reader:
    """One kind of source. Subclasses set `kind` and implement `poll`."""

    kind: ClassVar[str] = ""

    def claims(self, url: str) -> bool:
        """Say whether `url` is plainly a source of this kind (the kind recognised from it)."""
        return False

    def source_url(self, url: str, query: str) -> str:
        """Return the URL stored for a source of this kind at `url` asking `query`."""
        return url

    async def poll(self, spec: SourceSpec, http: Http) -> Poll:
        """Read what is new at the source since `spec.cursor`; raise SourceError on failure."""
        raise NotImplementedError
