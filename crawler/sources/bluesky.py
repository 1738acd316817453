"""Read Bluesky posts: a search on an AppView, or one account's feed.

Both go through the AppView's public XRPC API: `app.bsky.feed.searchPosts` (sorted
latest first) and `app.bsky.feed.getAuthorFeed`. Results are paged with an opaque
`cursor`; a poll follows it for a few pages and stops at the posts it has read before,
which it knows by time: the cursor it stores is "since:TIME|seen:KEYS", the newest
time read and short keys of the posts read in the minute before it.

A post's time is the earlier of its `createdAt` and `indexedAt`, as the AppView sorts
them (a repost in a feed: when it was reposted). `createdAt` comes from the poster's
clock, so a post can sort a little below one read before it; the poll therefore reads
down to a minute below the newest time and skips, by key, what it already read there.

Links are read from a post's text, its link facets and its external embed (also
beside a quoted post, in `recordWithMedia`), since the text often shows a link cut
short ("x.com/i/spa…") while the facet holds all of it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlsplit

from crawler.sources.base import Poll, Post, Reader, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import split_web_url

if TYPE_CHECKING:
    from crawler.sources.http import Http

#: The public AppView, which needs no account.
APPVIEW = "https://public.api.bsky.app"
SEARCH = "/xrpc/app.bsky.feed.searchPosts"
AUTHOR_FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
#: Posts per page, and pages read on one poll when many posts arrived since the last.
LIMIT = 50
MAX_PAGES = 4
#: Most links taken from one post.
LINKS_MAX = 50
#: How far below the newest time read a later post may still sort (posters' clocks).
MARGIN = timedelta(seconds=60)
#: Most keys of posts read within MARGIN kept in the cursor (it is stored in 500 chars).
SEEN_MAX = 40

_ACCEPT = {"Accept": "application/json"}
_WEB_HOSTS = ("bsky.app", "www.bsky.app")
_APPVIEW_HOSTS = ("public.api.bsky.app", "api.bsky.app")
_HANDLE = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]*$")
_DID = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%\-]{1,2000}$")
_RKEY = re.compile(r"^[A-Za-z0-9._:~\-]{1,512}$")
_LINK_FACET = "app.bsky.richtext.facet#link"
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class _Target:
    base: str  # scheme://host[:port] of the URL given
    appview: str  # where the XRPC calls go
    actor: str = ""  # a handle or DID: an author feed
    query: str = ""  # a search

    @property
    def url(self) -> str:
        if self.actor:
            return f"{self.base}/profile/{self.actor}"
        if self.query:
            return f"{self.appview}{SEARCH}?q={quote(self.query, safe='')}"
        return self.appview


class BlueskyReader(Reader):
    """A search on an AppView (URL with `query`), or `https://HOST/profile/HANDLE`."""

    kind = "bluesky"

    def claims(self, url: str) -> bool:
        """Say whether `url` is a Bluesky profile, a search URL or a known AppView."""
        target = _target(url)
        if target is None:
            return False
        host = urlsplit(target.base).hostname or ""
        return bool(target.actor or target.query or host in _APPVIEW_HOSTS)

    def source_url(self, url: str, query: str) -> str:
        """Return the stored URL: a profile URL, or the AppView's search URL for `query`.

        The query is kept in the URL so that two searches on one AppView are two sources.
        """
        target = _target(url, query)
        return target.url if target is not None else url

    async def poll(self, spec: SourceSpec, http: Http) -> Poll:
        """Read the posts made since the cursor's time (the newest page on a first poll)."""
        target = _target(spec.url, spec.query)
        if target is None or not (target.actor or target.query):
            raise SourceError(
                "parse",
                f"{spec.url} is not a Bluesky source: give an AppView URL with a query, "
                "or https://bsky.app/profile/HANDLE",
            )
        if target.actor:
            url = f"{target.appview}{AUTHOR_FEED}"
            params: dict[str, Any] = {"actor": target.actor, "limit": LIMIT}
        else:
            url = f"{target.appview}{SEARCH}"
            params = {"q": target.query, "limit": LIMIT, "sort": "latest"}
            since, _ = parse_cursor(spec.cursor)
            if since is not None:
                params["since"] = format_time(since - MARGIN)
        return await _read_since(http, url, params, spec.cursor, target)


def parse_cursor(cursor: str) -> tuple[datetime | None, frozenset[str]]:
    """Return the newest time a stored cursor says was read, and the keys read near it."""
    fields = dict(part.partition(":")[::2] for part in cursor.split("|") if ":" in part)
    seen = frozenset(key for key in fields.get("seen", "").split(",") if key)
    return parse_time(fields.get("since", "")), seen


def format_cursor(newest: datetime, seen: list[str]) -> str:
    """Return the cursor storing the newest time read and the keys read near it."""
    keys = ",".join(dict.fromkeys(seen[:SEEN_MAX]))
    return f"since:{format_time(newest)}" + (f"|seen:{keys}" if keys else "")


def format_time(when: datetime) -> str:
    """Write a time as the AppView does (UTC, "Z"), to the microsecond."""
    return when.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(value: object) -> datetime | None:
    """Return an AT Protocol datetime as an aware datetime, or None if it is not one."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        when = datetime.fromisoformat(_FRACTION.sub(r"\1", value.strip()))
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def post_of(view: dict[str, Any]) -> Post | None:
    """Return the Post of an `app.bsky.feed.defs#postView`, or None if it is malformed."""
    uri, author, record = view.get("uri"), view.get("author"), view.get("record")
    if not (isinstance(uri, str) and isinstance(author, dict) and isinstance(record, dict)):
        return None
    rkey = uri.rpartition("/")[2]
    handle = author.get("handle")
    if not isinstance(handle, str) or handle == "handle.invalid" or not _HANDLE.match(handle):
        handle = author.get("did")
    if not (uri.startswith("at://") and isinstance(handle, str) and _RKEY.match(rkey)):
        return None
    if not (_HANDLE.match(handle) or _DID.match(handle)):
        return None
    text = record.get("text")
    links = _facet_links(record.get("facets")) + _embed_links(record.get("embed"))
    links += _embed_links(view.get("embed"))
    return Post(
        url=f"https://bsky.app/profile/{handle}/post/{rkey}",
        text=text if isinstance(text, str) else "",
        links=list(dict.fromkeys(links))[:LINKS_MAX],
    )


async def _read_since(
    http: Http, url: str, params: dict[str, Any], cursor: str, target: _Target
) -> Poll:
    since, seen = parse_cursor(cursor)
    floor = since - MARGIN if since is not None else None
    posts: list[Post] = []
    read: list[tuple[str, datetime]] = []  # every item's key and time, newest first
    next_page = ""
    for page in range(MAX_PAGES):
        asked = dict(params, cursor=next_page) if next_page else params
        answer = await _get(http, url, asked, target)
        if answer.status == 304:
            return Poll(status=304)
        items, next_page = _page(answer.json(), url, feed=bool(target.actor))
        older = False
        for view, when, key in items:
            if when is not None:
                read.append((key, when))
            if key in seen or (floor is not None and when is not None and when <= floor):
                # Sorted newest first, so what comes next was read before, but for a
                # late post or two sorting just below: the rest of this page is read.
                older = True
            elif (post := post_of(view)) is not None:
                posts.append(post)
        # A first poll reads the newest page only; later ones page down to what was read.
        if since is None or older or not next_page or page == MAX_PAGES - 1:
            break
    newest = max([when for _, when in read] + ([since] if since else []), default=None)
    if newest is None:
        return Poll(posts=posts[::-1])
    recent = [key for key, when in read if when > newest - MARGIN]
    return Poll(posts=posts[::-1], cursor=format_cursor(newest, recent))


async def _get(http: Http, url: str, params: dict[str, Any], target: _Target) -> Any:
    try:
        # Only the first page is asked conditionally: the same search, unchanged, is a 304.
        return await http.get(
            url, params=params, headers=_ACCEPT, conditional="cursor" not in params
        )
    except SourceError as failed:
        # The AppView answers an unknown or taken-down account with 400 InvalidRequest
        # ("Profile not found"), not 404: for an author feed, the source is gone.
        if target.actor and failed.status == 400:
            raise SourceError(
                "gone", f"{target.appview} knows no Bluesky account {target.actor}: {failed}",
                status=400,
            ) from None  # fmt: skip
        raise


_Item = tuple[dict[str, Any], datetime | None, str]  # a post view, its time and key


def _page(data: Any, url: str, *, feed: bool) -> tuple[list[_Item], str]:
    """Return a page's post views with their times and keys, and the next page's cursor."""
    name = "feed" if feed else "posts"
    if not isinstance(data, dict) or not isinstance(data.get(name), list):
        raise SourceError("parse", f"{url} did not answer a list of {name}")
    items: list[_Item] = []
    for entry in data[name]:
        view = entry.get("post") if feed and isinstance(entry, dict) else entry
        if not isinstance(view, dict):
            continue
        reason = entry.get("reason") if feed else None
        reposted = parse_time(reason.get("indexedAt")) if isinstance(reason, dict) else None
        # A repost is its own item in a feed, known by its own URI and time.
        identity = reason.get("uri") if reposted and isinstance(reason, dict) else None
        key = _key(identity if isinstance(identity, str) else view.get("uri"))
        items.append((view, reposted or _sort_time(view), key))
    cursor = data.get("cursor")
    return items, cursor if isinstance(cursor, str) and len(cursor) <= 1000 else ""


def _key(uri: object) -> str:
    """Return a short key for an item's URI: eight hex digits fit 40 in a cursor."""
    return hashlib.blake2b(str(uri).encode(), digest_size=4).hexdigest()


def _sort_time(view: dict[str, Any]) -> datetime | None:
    record = view.get("record")
    created = parse_time(record.get("createdAt")) if isinstance(record, dict) else None
    indexed = parse_time(view.get("indexedAt"))
    times = [when for when in (created, indexed) if when is not None]
    return min(times) if times else None


def _facet_links(facets: Any) -> list[str]:
    links: list[str] = []
    for facet in facets if isinstance(facets, list) else ():
        features = facet.get("features") if isinstance(facet, dict) else None
        for feature in features if isinstance(features, list) else ():
            if isinstance(feature, dict) and feature.get("$type") == _LINK_FACET:
                links += _web_url(feature.get("uri"))
    return links


def _embed_links(embed: Any) -> list[str]:
    """Return the external link of an embed (record or view), also beside a quoted post."""
    if not isinstance(embed, dict):
        return []
    external = embed.get("external")
    links = _web_url(external.get("uri")) if isinstance(external, dict) else []
    # recordWithMedia: the media may be an external link; the quoted record is another
    # post, with its own permalink, so it is not read as this one's.
    return links + _embed_links(embed.get("media"))


def _web_url(value: object) -> list[str]:
    ok = isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) < 4096
    return [value] if ok and isinstance(value, str) else []


def _target(url: str, query: str = "") -> _Target | None:
    split = split_web_url(url)
    if split is None:
        return None
    parts, host, base = split
    # A profile on bsky.app is read from the public AppView; on any other host (a
    # self-hosted AppView, a test server), from that host.
    appview = APPVIEW if host in _WEB_HOSTS else base
    path = parts.path.rstrip("/")
    asked = parse_qs(parts.query)
    if path.startswith("/profile/"):
        actor = _actor(path.removeprefix("/profile/"))
        return _Target(base, appview, actor=actor) if actor else None
    if path == AUTHOR_FEED:
        actor = _actor((asked.get("actor") or [""])[0])
        return _Target(base, appview, actor=actor) if actor else None
    # bsky.app's own search page, as people copy it, is the same search.
    if path in ("", SEARCH) or (path == "/search" and host in _WEB_HOSTS):
        words = query.strip() or (asked.get("q") or [""])[0].strip()
        return _Target(base, appview, query=words)
    return None


def _actor(value: str) -> str:
    value = value.strip()
    if _DID.match(value):
        return value
    handle = value.lower().removeprefix("@")
    return handle if _HANDLE.match(handle) else ""
