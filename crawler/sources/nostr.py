"""Nostr relays as sources: NIP-53 live activities read over a relay's WebSocket (NIP-01).

A relay source is `wss://RELAY` with a query of comma-separated `t` tags. A poll opens
the relay, asks (`REQ`) for live activities with those tags published since the last
poll, reads until the relay says it has sent what it holds (`EOSE`), closes the
subscription and returns the spaces read. crawler/relays.py keeps the same
subscriptions open instead, so a new status is seen the moment it is published.

Everything a relay sends is a stranger's: each message is held to a size cap, each
relay to an event rate, and each event to its id and signature (core.platforms.nip01)
and to the filter asked for (crawler.sources.nostr_gate) before it is believed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from core.catalog.records import SpaceRecord
from core.extract.language import merge_topics
from core.netguard import ForbiddenTarget
from core.platforms import registry
from core.platforms.failures import http_reason
from core.platforms.nostr import KINDS, page_link, record_from_event
from crawler.sources.base import Poll, Reader, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import Http
from crawler.sources.nostr_gate import MAX_FRAME_BYTES, Gate

log = logging.getLogger(__name__)

#: How long a poll waits for the relay to send what it holds.
POLL_WAIT_S = 10.0
CONNECT_TIMEOUT_S = 10.0
MAX_TAGS = 20
_SCHEMES = {"ws": "http", "wss": "https"}
_GUARD_WORDS = "only fetches public addresses"


def relay_topics(query: str) -> list[str]:
    """Return the `t` tags a source's query asks for: comma-separated, `#` optional."""
    return merge_topics(part for part in query.split(",") if part.strip())[:MAX_TAGS]


def request_filter(tags: list[str], since: int | None) -> dict[str, Any]:
    """Return the NIP-01 filter asking for live activities with `tags` since `since`."""
    flt: dict[str, Any] = {"kinds": list(KINDS)}
    if tags:
        flt["#t"] = tags
    if since is not None:
        flt["since"] = since
    return flt


def since_of(cursor: str) -> int | None:
    """Return the `created_at` a stored cursor resumes from, or None to read everything."""
    return int(cursor) if cursor.strip().isascii() and cursor.strip().isdigit() else None


def web_form(url: str) -> str:
    """Return the http(s) URL a ws(s) URL connects to, for the private-address guard."""
    parts = urlsplit(url)
    scheme = _SCHEMES.get(parts.scheme.lower())
    if scheme is None or not parts.hostname:
        raise SourceError("parse", f"{url!r} is not a relay address; give wss://HOST")
    return parts._replace(scheme=scheme).geturl()


async def check_relay(url: str, http: Http) -> None:
    """Raise SourceError("blocked_address") unless the relay's host is public (or allowed)."""
    try:
        await http.guard.check(web_form(url))
    except ForbiddenTarget as refused:
        reason = "dns" if "cannot resolve" in str(refused) else "blocked_address"
        raise SourceError(reason, f"relay {url} refused: {refused}") from None


async def connect(url: str, http: Http) -> aiohttp.ClientWebSocketResponse:
    """Open a guarded WebSocket to the relay at `url`; raise SourceError with a reason."""
    await check_relay(url, http)
    opening = http.session.ws_connect(
        url,
        headers={"User-Agent": http.user_agent},
        max_msg_size=MAX_FRAME_BYTES,
        heartbeat=30.0,
        timeout=aiohttp.ClientWSTimeout(ws_close=5.0),
    )
    try:
        return await asyncio.wait_for(opening, CONNECT_TIMEOUT_S)
    except TimeoutError:
        raise SourceError("timeout", f"relay {url} did not answer in time") from None
    except aiohttp.WSServerHandshakeError as failed:
        raise SourceError(
            http_reason(failed.status), f"relay {url} answered HTTP {failed.status}",
            status=failed.status,
        ) from None  # fmt: skip
    except aiohttp.ClientConnectorDNSError:
        raise SourceError("dns", f"{urlsplit(url).hostname} does not resolve") from None
    except aiohttp.ClientConnectorError as failed:
        if _GUARD_WORDS in str(failed.os_error):  # the resolver refused the address
            raise SourceError("blocked_address", str(failed.os_error)) from None
        raise SourceError("connect", f"could not connect to relay {url}: {failed}") from None
    except (aiohttp.ClientError, OSError) as failed:
        raise SourceError("connect", f"relay {url}: {failed}") from None


def subscription_id() -> str:
    """Return a fresh subscription id (NIP-01 allows up to 64 characters)."""
    return "spaces-" + secrets.token_hex(8)


class Pages:
    """What the web pages activities point at turn out to be, read once per URL and status.

    An activity whose `service` page is a room server's room (or any page that says it
    is a space) is that room: the page, read by its own platform, is the record, and
    the Nostr address becomes one more place it was shared. A new status of the
    activity reads the page again.
    """

    def __init__(self, *, size: int = 1024, ttl_s: float = 600.0) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self._seen: dict[tuple[str, str], tuple[float, SpaceRecord | None]] = {}

    async def space_at(self, url: str, status: str, http: Http) -> SpaceRecord | None:
        """Return the space the page at `url` describes itself as, or None."""
        key = (url, status)
        held = self._seen.get(key)
        if held is not None and time.monotonic() - held[0] < self.ttl_s:
            return held[1]
        try:
            answer = await http.get(url, headers={"Accept": "text/html"}, conditional=False)
            record = registry.read_page(answer.body.decode("utf-8", "replace"), answer.url or url)
        except SourceError as failed:
            log.info("the page %s of a live activity could not be read: %s", url, failed)
            record = None
        if len(self._seen) >= self.size:
            self._seen.pop(next(iter(self._seen)))
        self._seen[key] = (time.monotonic(), record)
        return record


async def space_of(
    event: dict[str, Any], relay: str, http: Http, pages: Pages
) -> tuple[SpaceRecord, str]:
    """Return the space a verified activity describes and the page that shared it.

    A Nostr-only space was shared by the relay it came from; a room page the activity
    points at was shared by the activity's Nostr address.
    """
    record = record_from_event(event, recognise=registry.recognise)
    link = page_link(event) if record.platform == "nostr" else ""
    if link:
        status = next((t[1] for t in event["tags"] if len(t) > 1 and t[0] == "status"), "")
        page = await pages.space_at(link, status, http)
        if page is not None:  # a copy: the cached record serves later events too
            return replace(page, topics=merge_topics(page.topics, record.topics)), record.url
    return record, relay


class NostrReader(Reader):
    """Read a relay's live activities with the source's `t` tags (see the module)."""

    kind = "nostr"

    def __init__(self) -> None:
        self.pages = Pages()

    def claims(self, url: str) -> bool:
        """Say yes for `ws://` and `wss://` addresses: only relays are reached that way."""
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme.lower() in _SCHEMES and bool(parts.hostname)

    async def poll(self, spec: SourceSpec, http: Http) -> Poll:
        """Ask the relay for what it holds since the cursor; return verified activities."""
        tags = relay_topics(spec.query)
        gate = Gate(spec.url, tags)
        events = await fetch_stored(
            spec.url, request_filter(tags, since_of(spec.cursor)), http, gate
        )
        poll = Poll(cursor=str(max(e["created_at"] for e in events)) if events else None)
        for event in events:
            try:
                poll.records.append(await space_of(event, spec.url, http, self.pages))
            except ValueError as refused:  # InvalidEvent: a private room, say
                gate.refuse(getattr(refused, "reason", "parse"), str(refused))
        return poll


async def fetch_stored(
    url: str, flt: dict[str, Any], http: Http, gate: Gate, *, wait_s: float = POLL_WAIT_S
) -> list[dict[str, Any]]:
    """Return the events a relay holds matching `flt`, read until EOSE, checked by `gate`."""
    socket = await connect(url, http)
    sub = subscription_id()
    events: list[dict[str, Any]] = []
    try:
        await socket.send_str(json.dumps(["REQ", sub, flt]))
        deadline = time.monotonic() + wait_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                message = await socket.receive(timeout=left)
            except TimeoutError:
                log.info("relay %s sent no EOSE within %.0f s", url, wait_s)
                break
            if message.type != aiohttp.WSMsgType.TEXT:
                if message.type == aiohttp.WSMsgType.ERROR:
                    gate.refuse("too_large", "a frame could not be read (past the size cap?)")
                break
            verb, event = gate.read(message.data, sub)
            if event is not None:
                events.append(event)
            elif verb == "EOSE":
                break
            elif verb == "CLOSED":
                raise SourceError("refused", f"relay {url} closed the subscription")
            if gate.flooding:
                raise SourceError("rate_limited", f"relay {url} floods events past the cap")
        if not socket.closed:
            await socket.send_str(json.dumps(["CLOSE", sub]))
    finally:
        await socket.close()
    return events
