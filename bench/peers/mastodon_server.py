"""A Mastodon server on loopback: the public REST API a crawler reads, with a request log.

Written from docs.joinmastodon.org (methods/timelines, methods/accounts, entities/Status,
entities/Account, entities/PreviewCard): hashtag timelines, account lookup and account
statuses, newest first, paginated by id (`max_id`, `since_id`, `min_id`, `limit` up to
40) with the `Link` header Mastodon sends; unknown tags and accounts answer 404
`{"error": "Record not found"}`. A test publishes statuses at any time, and can make a
path answer something else (an error, garbage) with `answer`.
"""

from __future__ import annotations

import hashlib
import html
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlencode

from aiohttp import web

from bench.peers.loopback import LoopbackAiohttpServer

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


def link_html(url: str) -> str:
    """Return a link as Mastodon writes one into a status: the middle of it shown."""
    scheme, _, rest = url.partition("://")
    shown, hidden = rest[:30], rest[30:]
    return (
        f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" translate="no">'
        f'<span class="invisible">{scheme}://</span>'
        f'<span class="{"ellipsis" if hidden else ""}">{html.escape(shown)}</span>'
        f'<span class="invisible">{html.escape(hidden)}</span></a>'
    )


def card(url: str, title: str = "A live space") -> dict[str, Any]:
    """Return a PreviewCard of type link for `url`, with every field the API gives."""
    return {
        "url": url,
        "title": title,
        "description": "",
        "language": "en",
        "type": "link",
        "author_name": "",
        "author_url": "",
        "provider_name": "",
        "provider_url": "",
        "html": "",
        "width": 400,
        "height": 225,
        "image": None,
        "image_description": "",
        "embed_url": "",
        "blurhash": None,
        "published_at": None,
        "authors": [],
    }


@dataclass
class MastodonServer(LoopbackAiohttpServer):
    """The server: accounts, statuses, tags, every request it got, and forced answers."""

    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)  # by id
    statuses: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    tags: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)  # path and query, as asked
    #: Path -> (status, body, content type): what that path answers instead.
    answers: dict[str, tuple[int, bytes, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__("127.0.0.1")
        self._lock = threading.Lock()
        self._last_id = 0

    # --- what tests do -------------------------------------------------------------

    def add_account(self, username: str, domain: str = "") -> dict[str, Any]:
        """Create an account: local, or known here from another server (`domain`)."""
        with self._lock:
            account_id = str(len(self.accounts) + 109_000_000_000)
            home = f"https://{domain}" if domain else self.base
            account = {
                "id": account_id,
                "username": username,
                "acct": f"{username}@{domain}" if domain else username,
                "display_name": username.title(),
                "locked": False,
                "bot": False,
                "discoverable": True,
                "indexable": True,
                "group": False,
                "created_at": _now(),
                "note": "<p>Hosts rooms.</p>",
                "url": f"{home}/@{username}",
                "uri": f"{home}/users/{username}",
                "avatar": f"{self.base}/avatars/original/missing.png",
                "avatar_static": f"{self.base}/avatars/original/missing.png",
                "header": f"{self.base}/headers/original/missing.png",
                "header_static": f"{self.base}/headers/original/missing.png",
                "followers_count": 0,
                "following_count": 0,
                "statuses_count": 0,
                "last_status_at": None,
                "hide_collections": False,
                "noindex": False,
                "emojis": [],
                "roles": [],
                "fields": [],
            }
            self.accounts[account_id] = account
            return account

    def publish(
        self,
        account: dict[str, Any],
        content: str,
        *,
        tags: tuple[str, ...] = (),
        card: dict[str, Any] | None = None,
        reblog: dict[str, Any] | None = None,
        in_reply_to: dict[str, Any] | None = None,
        spoiler_text: str = "",
    ) -> dict[str, Any]:
        """Post a status (or boost `reblog`) as `account`; return it as the API shows it."""
        with self._lock:
            status_id = self._next_id()
            home = account["url"].rsplit("/@", 1)[0]
            uri = f"{account['uri']}/statuses/{status_id}"
            words = " ".join(
                f'<a href="{home}/tags/{quote(tag)}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(tag)}</span></a>"
                for tag in tags
            )
            status: dict[str, Any] = {
                "id": status_id,
                "created_at": _now(),
                "in_reply_to_id": in_reply_to["id"] if in_reply_to else None,
                "in_reply_to_account_id": in_reply_to["account"]["id"] if in_reply_to else None,
                "sensitive": bool(spoiler_text),
                "spoiler_text": spoiler_text,
                "visibility": "public",
                "language": "en",
                "uri": f"{uri}/activity" if reblog else uri,
                "url": None if reblog else f"{account['url']}/{status_id}",
                "replies_count": 0,
                "reblogs_count": 0,
                "favourites_count": 0,
                "quotes_count": 0,
                "edited_at": None,
                "content": "" if reblog else f"<p>{content}{' ' if words else ''}{words}</p>",
                "reblog": reblog,
                "application": None if "@" in account["acct"] else {"name": "Web", "website": None},
                "account": account,
                "media_attachments": [],
                "mentions": [],
                "tags": [{"name": t.lower(), "url": f"{home}/tags/{t.lower()}"} for t in tags],
                "emojis": [],
                "quote": None,
                "card": None if reblog else card,
                "poll": None,
            }
            self.tags.update(tag.lower() for tag in tags)
            account["statuses_count"] += 1
            account["last_status_at"] = status["created_at"][:10]
            self.statuses.append(status)
            return status

    def answer(self, path: str, status: int, body: bytes | str, content_type: str = "") -> None:
        """Make `path` answer `status` with `body` from now on (JSON unless told)."""
        raw = body.encode() if isinstance(body, str) else body
        self.answers[path] = (status, raw, content_type or "application/json; charset=utf-8")

    def asked(self, path: str) -> list[dict[str, str]]:
        """Return the query parameters of each request made to `path`, in order."""
        from urllib.parse import parse_qsl, urlsplit

        return [
            dict(parse_qsl(urlsplit(target).query))
            for target in self.requests
            if urlsplit(target).path == path
        ]

    # --- the API -----------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/v1/timelines/tag/{hashtag}", self._tag)
        app.router.add_get("/api/v1/accounts/lookup", self._lookup)
        app.router.add_get("/api/v1/accounts/{id}/statuses", self._account_statuses)
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
            return _json({"error": "Record not found"}, status=404)
        return answer

    async def _tag(self, request: web.Request) -> web.StreamResponse:
        name = unquote(request.match_info["hashtag"]).lower()
        with self._lock:
            if name not in self.tags:
                return _json({"error": "Record not found"}, status=404)
            # Boosts are not in hashtag timelines: the boosted status is, on its own.
            found = [
                status
                for status in self.statuses
                if status["reblog"] is None and any(t["name"] == name for t in status["tags"])
            ]
        return self._page(request, found, ("limit", "local", "remote", "only_media"))

    async def _lookup(self, request: web.Request) -> web.StreamResponse:
        acct = request.query.get("acct", "").removeprefix("@").lower()
        with self._lock:
            for account in self.accounts.values():
                local = account["acct"].lower()
                if acct in (local, f"{local}@127.0.0.1"):
                    return _json(account)
        return _json({"error": "Record not found"}, status=404)

    async def _account_statuses(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            account = self.accounts.get(request.match_info["id"])
            if account is None:
                return _json({"error": "Record not found"}, status=404)
            found = [s for s in self.statuses if s["account"]["id"] == account["id"]]
        if request.query.get("exclude_replies", "false") == "true":
            found = [s for s in found if s["in_reply_to_id"] is None]
        if request.query.get("exclude_reblogs", "false") == "true":
            found = [s for s in found if s["reblog"] is None]
        kept = ("limit", "only_media", "exclude_replies", "exclude_reblogs", "tagged")
        return self._page(request, found, kept)

    def _page(
        self, request: web.Request, statuses: list[dict[str, Any]], kept: tuple[str, ...]
    ) -> web.StreamResponse:
        """Answer one page of `statuses` (oldest first) by Mastodon's id pagination."""
        query = request.query
        try:
            limit = min(int(query.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        except ValueError:
            limit = DEFAULT_LIMIT
        newest_first = sorted(statuses, key=lambda s: int(s["id"]), reverse=True)
        if query.get("max_id"):
            newest_first = [s for s in newest_first if int(s["id"]) < _int(query["max_id"])]
        if query.get("min_id"):
            # The statuses just above min_id, still given newest first.
            above = [s for s in newest_first if int(s["id"]) > _int(query["min_id"])]
            page = above[-limit:] if limit > 0 else []
        else:
            if query.get("since_id"):
                newest_first = [s for s in newest_first if int(s["id"]) > _int(query["since_id"])]
            page = newest_first[: max(limit, 0)]
        body = json.dumps(page).encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Cache-Control": "private, no-store",
            "Vary": "Accept, Accept-Encoding, Origin",
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "299",
            "X-RateLimit-Reset": time.strftime(
                "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300)
            ),
            "ETag": 'W/"' + hashlib.md5(body).hexdigest() + '"',
        }
        links = []
        params = {name: query[name] for name in kept if name in query}
        if page and len(page) == limit:
            links.append(f'<{self._url(request, params, max_id=page[-1]["id"])}>; rel="next"')
        if page:
            links.append(f'<{self._url(request, params, min_id=page[0]["id"])}>; rel="prev"')
        if links:
            headers["Link"] = ", ".join(links)
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return web.Response(status=304, headers={"ETag": headers["ETag"]})
        return web.Response(body=body, headers=headers)

    def _url(self, request: web.Request, params: dict[str, str], **bound: str) -> str:
        return f"{self.base}{request.path}?{urlencode({**params, **bound})}"

    def _next_id(self) -> str:
        # Mastodon's ids: milliseconds since the epoch, shifted, with a sequence below.
        self._last_id = max(self._last_id + 1, int(time.time() * 1000) << 16)
        return str(self._last_id)


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


def _now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1000):03d}Z"


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, text=json.dumps(data), content_type="application/json", charset="utf-8"
    )
