"""What a source reader is: one kind of source (a Mastodon tag, a Bluesky search, a relay...).

A reader knows one protocol. It is handed a SourceSpec and a guarded HTTP client and
returns a Poll: the posts it read (links are found in them by crawler.sources.poll) and
any spaces it could read directly (an X search result, a relay's live activity), with
the cursor to resume from next time. It never writes to the catalog itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from core.catalog.records import SpaceRecord

if TYPE_CHECKING:
    from crawler.sources.http import Http

#: Why a source or a fetch failed, as stored in the catalog and shown to admins.
REASONS = (
    "robots",  # robots.txt disallows it
    "http_4xx",
    "http_5xx",
    "dns",  # the name does not resolve
    "connect",  # no connection (refused, reset)
    "blocked_address",  # it resolves to a private or reserved address
    "parse",  # the answer is not what the protocol says
    "timeout",
    "gone",  # 404 or 410: the source is no more
    "too_large",
    "rate_limited",  # 429, or a Retry-After to honour
    "refused",  # refused on purpose: forged, unsigned, flooding
)


class SourceError(Exception):
    """A poll that failed: `reason` is one of REASONS, the message says what to do."""

    def __init__(
        self, reason: str, message: str, *, status: int = 0, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message)
        self.reason = reason if reason in REASONS else "parse"
        self.status = status
        self.retry_after_s = retry_after_s


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
