"""A Bluesky AppView on loopback: the XRPC queries a crawler reads, with a request log.

Written from the lexicons on docs.bsky.app (app.bsky.feed.searchPosts, getAuthorFeed,
app.bsky.feed.defs#postView / #feedViewPost / #reasonRepost, app.bsky.richtext.facet,
app.bsky.embed.external and recordWithMedia): posts carry their record (text, facets
with UTF-8 byte ranges, embed) and the hydrated embed view; results come newest first
with an opaque `cursor`; errors are XRPC bodies `{"error", "message"}`: 400
InvalidRequest for bad parameters and for an unknown actor ("Profile not found"), as
the AppView answers them. A test publishes posts at any time and can make a method
answer something else with `answer`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiohttp import web

from bench.peers.loopback import LoopbackAiohttpServer

_TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"


def link_facet(text: str, shown: str, uri: str) -> dict[str, Any]:
    """Return a link facet over the first `shown` in `text` (byte offsets, as the spec says)."""
    start = text.encode().index(shown.encode())
    return {
        "$type": "app.bsky.richtext.facet",
        "index": {"byteStart": start, "byteEnd": start + len(shown.encode())},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
    }


@dataclass
class BlueskyServer(LoopbackAiohttpServer):
    """The AppView: profiles, posts, reposts, every request it got, and forced answers."""

    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)  # by DID
    posts: list[dict[str, Any]] = field(default_factory=list)  # post views, oldest first
    feed: list[dict[str, Any]] = field(default_factory=list)  # {actor, item, at: sortAt}
    requests: list[str] = field(default_factory=list)
    answers: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__("127.0.0.1")
        self._lock = threading.Lock()
        self._clock = datetime(2000, 1, 1, tzinfo=UTC)

    # --- what tests do -------------------------------------------------------------

    def add_profile(self, handle: str) -> dict[str, Any]:
        """Create an account; return its profileViewBasic."""
        did = (
            "did:plc:"
            + base64.b32encode(hashlib.sha256(handle.encode()).digest()).decode()[:24].lower()
        )
        profile = {
            "did": did,
            "handle": handle,
            "displayName": handle.split(".")[0].title(),
            "avatar": f"https://cdn.bsky.app/img/avatar/plain/{did}/bafkreiavatar@jpeg",
            "associated": {"chat": {"allowIncoming": "following"}},
            "viewer": {"muted": False, "blockedBy": False},
            "labels": [],
            "createdAt": "2024-02-01T10:00:00.000Z",
        }
        with self._lock:
            self.profiles[did] = profile
        return profile

    def publish(
        self,
        author: dict[str, Any],
        text: str,
        *,
        facets: list[dict[str, Any]] | None = None,
        external: str = "",
        quote: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Post as `author`; an `external` link card, beside a `quote`d post if given."""
        with self._lock:
            when = self._tick()
            rkey = _tid(when)
            record: dict[str, Any] = {
                "$type": "app.bsky.feed.post",
                "createdAt": _iso(when - timedelta(milliseconds=2)),
                "langs": ["en"],
                "text": text,
            }
            if facets:
                record["facets"] = facets
            embed, view = _embeds(external, quote)
            if embed:
                record["embed"] = embed
            post = {
                "uri": f"at://{author['did']}/app.bsky.feed.post/{rkey}",
                "cid": _cid(record),
                "author": author,
                "record": record,
                "bookmarkCount": 0,
                "replyCount": 0,
                "repostCount": 0,
                "likeCount": 0,
                "quoteCount": 0,
                "indexedAt": _iso(when),
                "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
                "labels": [],
            }
            if view:
                post["embed"] = view
            self.posts.append(post)
            # A feed sorts by sortAt: the earlier of createdAt and indexedAt.
            self.feed.append({"actor": author["did"], "item": {"post": post}, "at": _sort_at(post)})
            return post

    def repost(self, author: dict[str, Any], post: dict[str, Any]) -> None:
        """Repost `post` as `author`: it shows in their feed with a reasonRepost."""
        with self._lock:
            when = self._tick()
            reason = {
                "$type": "app.bsky.feed.defs#reasonRepost",
                "by": author,
                "uri": f"at://{author['did']}/app.bsky.feed.repost/{_tid(when)}",
                "cid": _cid({"subject": post["uri"]}),
                "indexedAt": _iso(when),
            }
            item = {"post": post, "reason": reason}
            # The repost record's createdAt, from the reposter's clock, is its sortAt.
            at = when - timedelta(milliseconds=2)
            self.feed.append({"actor": author["did"], "item": item, "at": at})

    def answer(self, method: str, status: int, body: bytes | str, content_type: str = "") -> None:
        """Make XRPC `method` answer `status` with `body` from now on (JSON unless told)."""
        raw = body.encode() if isinstance(body, str) else body
        kind = content_type or "application/json; charset=utf-8"
        self.answers[f"/xrpc/{method}"] = (status, raw, kind)

    def asked(self, method: str) -> list[dict[str, str]]:
        """Return the query parameters of each call of XRPC `method`, in order."""
        return [
            dict(parse_qsl(urlsplit(target).query))
            for target in self.requests
            if urlsplit(target).path == f"/xrpc/{method}"
        ]

    # --- the API -----------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/xrpc/app.bsky.feed.searchPosts", self._search)
        app.router.add_get("/xrpc/app.bsky.feed.getAuthorFeed", self._author_feed)
        app.middlewares.append(self._record)

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path_qs)
        forced = self.answers.get(request.path)
        if forced is not None:
            status, body, content_type = forced
            return web.Response(status=status, body=body, headers={"Content-Type": content_type})
        try:
            answer: web.StreamResponse = await handler(request)
        except web.HTTPNotFound:
            return _error(501, "MethodNotImplemented", "Method Not Implemented")
        except _BadParams as bad:
            return _error(400, "InvalidRequest", str(bad))
        return answer

    async def _search(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        words = _required(query, "q").lower().split()
        limit = _limit(query, default=25)
        since, until = _time(query, "since"), _time(query, "until")
        with self._lock:
            hits = [
                post
                for post in reversed(self.posts)
                if all(word in _searchable(post) for word in words)
                and (since is None or _sort_at(post) >= since)
                and (until is None or _sort_at(post) < until)
            ]
        if query.get("sort", "latest") == "latest":
            hits.sort(key=_sort_at, reverse=True)
        # Search cursors are offsets into the hits, written as a string.
        offset = int(query["cursor"]) if query.get("cursor", "").isdigit() else 0
        page = hits[offset : offset + limit]
        body: dict[str, Any] = {"posts": page, "hitsTotal": len(hits)}
        if offset + limit < len(hits):
            body["cursor"] = str(offset + limit)
        return _json(body)

    async def _author_feed(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        actor = _required(query, "actor")
        if not (actor.startswith("did:") or "." in actor):
            raise _BadParams("Error: actor must be a valid did or a handle")
        limit = _limit(query, default=50)
        with self._lock:
            did = next((d for d, p in self.profiles.items() if actor in (d, p["handle"])), None)
            if did is None:
                return _error(400, "InvalidRequest", "Profile not found")
            items = sorted(
                (entry for entry in self.feed if entry["actor"] == did),
                key=lambda entry: entry["at"],
                reverse=True,
            )
        # Feed cursors are the sort time of the last item given.
        before = _time(query, "cursor")
        if before is not None:
            items = [entry for entry in items if entry["at"] < before]
        page = items[:limit]
        body: dict[str, Any] = {"feed": [entry["item"] for entry in page]}
        if page:
            body["cursor"] = _iso(page[-1]["at"])
        return _json(body)

    def _tick(self) -> datetime:
        # Every post a distinct millisecond, as the AppView's clocks give them.
        now = datetime.now(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        self._clock = max(now, self._clock + timedelta(milliseconds=1))
        return self._clock


class _BadParams(Exception):
    """A query's parameters break the lexicon: 400 InvalidRequest."""


def _required(query: Any, name: str) -> str:
    value = query.get(name, "")
    if not value:
        raise _BadParams(f'Error: Params must have the property "{name}"')
    return str(value)


def _limit(query: Any, default: int) -> int:
    try:
        limit = int(query.get("limit", default))
    except ValueError:
        raise _BadParams("Error: limit must be an integer") from None
    if not 1 <= limit <= 100:
        raise _BadParams(
            f"Error: limit can not be {'less than 1' if limit < 1 else 'greater than 100'}"
        )
    return limit


def _time(query: Any, name: str) -> datetime | None:
    value = query.get(name)
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _BadParams(f"Error: {name} must be a valid datetime") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _sort_at(post: dict[str, Any]) -> datetime:
    created = datetime.fromisoformat(post["record"]["createdAt"])
    return min(created, datetime.fromisoformat(post["indexedAt"]))


def _searchable(post: dict[str, Any]) -> str:
    # The search index holds a post's text and the URLs it links to.
    record = post["record"]
    urls = [
        feature.get("uri", "")
        for facet in record.get("facets", [])
        for feature in facet["features"]
    ]
    embed = record.get("embed", {})
    external = embed.get("external") or embed.get("media", {}).get("external") or {}
    urls.append(external.get("uri", ""))
    return " ".join([record["text"], *urls]).lower()


def _embeds(external: str, quote: dict[str, Any] | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a post's embed as its record holds it and as the AppView shows it."""
    if not external:
        return {}, {}
    card = {"uri": external, "title": "Live now", "description": "Join the space"}
    embed: dict[str, Any] = {"$type": "app.bsky.embed.external", "external": card}
    view: dict[str, Any] = {"$type": "app.bsky.embed.external#view", "external": card}
    if quote is None:
        return embed, view
    quoted = {
        "$type": "app.bsky.embed.record",
        "record": {"uri": quote["uri"], "cid": quote["cid"]},
    }
    shown = {
        "$type": "app.bsky.embed.record#view",
        "record": {
            "$type": "app.bsky.embed.record#viewRecord",
            "uri": quote["uri"],
            "cid": quote["cid"],
            "author": quote["author"],
            "value": quote["record"],
            "labels": [],
            "likeCount": 0,
            "replyCount": 0,
            "repostCount": 0,
            "quoteCount": 0,
            "indexedAt": quote["indexedAt"],
            "embeds": [],
        },
    }
    return (
        {"$type": "app.bsky.embed.recordWithMedia", "record": quoted, "media": embed},
        {"$type": "app.bsky.embed.recordWithMedia#view", "record": shown, "media": view},
    )


def _tid(when: datetime) -> str:
    """Return a record key as the protocol makes them: a timestamp id, base32-sortable."""
    micros = int(when.timestamp() * 1_000_000)
    value = (micros << 10) | 7
    return "".join(_TID_CHARS[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def _cid(record: dict[str, Any]) -> str:
    """Return a CIDv1 (dag-cbor, sha-256) string for a record, in base32 as the API writes it."""
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).digest()
    raw = bytes([0x01, 0x71, 0x12, 0x20]) + digest
    return "b" + base64.b32encode(raw).decode().lower().rstrip("=")


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", charset="utf-8"
    )


def _error(status: int, error: str, message: str) -> web.Response:
    return _json({"error": error, "message": message}, status=status)
