"""A Nostr relay on loopback speaking NIP-01, and signed NIP-53 events to publish on it.

The relay keeps the newest version of each addressable event (kinds 30000-39999, by
kind, author and `d` tag), answers `REQ` with what it holds that matches the filters
and `EOSE`, then sends each newly published matching event to the open subscription
until `CLOSE`. Like a careless or hostile relay, it passes events on without checking
their signatures: checking them is the crawler's job.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web
from coincurve import PrivateKey

from bench.peers.loopback import LoopbackAiohttpServer
from core.platforms.nip01 import event_id

#: A fixed test key, so addresses are the same from one run to the next.
TEST_KEY = PrivateKey(hashlib.sha256(b"spaces nostr test key").digest())


def pubkey_of(key: PrivateKey) -> str:
    """Return the x-only public key of `key`, as NIP-01 writes it (hex)."""
    return key.public_key_xonly.format().hex()


def sign(
    key: PrivateKey,
    kind: int,
    tags: list[list[str]],
    content: str = "",
    created_at: int | None = None,
) -> dict[str, Any]:
    """Return a complete event signed by `key` (BIP-340 over its NIP-01 id)."""
    event: dict[str, Any] = {
        "pubkey": pubkey_of(key),
        "created_at": int(time.time()) if created_at is None else created_at,
        "kind": kind,
        "tags": tags,
        "content": content,
    }
    event["id"] = event_id(event)
    event["sig"] = key.sign_schnorr(bytes.fromhex(event["id"])).hex()
    return event


def activity(
    d: str,
    status: str,
    *,
    title: str = "",
    topics: tuple[str, ...] = ("audio",),
    key: PrivateKey = TEST_KEY,
    kind: int = 30311,
    created_at: int | None = None,
    extra: list[list[str]] | None = None,
) -> dict[str, Any]:
    """Return a signed NIP-53 live activity with the usual tags."""
    tags = [["d", d], ["title", title or f"Room {d}"], ["summary", f"All about {d}"]]
    tags += [["status", status], ["starts", str(int(time.time()) - 60)]]
    tags += [["current_participants", "12"]]
    tags += [["t", topic] for topic in topics]
    tags += extra or []
    return sign(key, kind, tags, created_at=created_at)


def matches(event: dict[str, Any], flt: dict[str, Any]) -> bool:
    """Say whether `event` passes one NIP-01 filter."""
    if "ids" in flt and event["id"] not in flt["ids"]:
        return False
    if "authors" in flt and event["pubkey"] not in flt["authors"]:
        return False
    if "kinds" in flt and event["kind"] not in flt["kinds"]:
        return False
    if "since" in flt and event["created_at"] < flt["since"]:
        return False
    if "until" in flt and event["created_at"] > flt["until"]:
        return False
    for key, wanted in flt.items():
        if key.startswith("#") and len(key) == 2:
            values = {tag[1] for tag in event["tags"] if len(tag) > 1 and tag[0] == key[1]}
            if not values & set(wanted):
                return False
    return True


def _address(event: dict[str, Any]) -> tuple[int, str, str] | None:
    if not 30000 <= event["kind"] < 40000:
        return None
    d = next((tag[1] for tag in event["tags"] if len(tag) > 1 and tag[0] == "d"), "")
    return event["kind"], event["pubkey"], d


@dataclass
class _Subscriber:
    socket: web.WebSocketResponse
    filters: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Relay(LoopbackAiohttpServer):
    """A NIP-01 relay at `ws://HOST:PORT/` (see the module's docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(host)
        self.fixed_port = port  # to come back at the same address after a restart
        self.events: dict[Any, dict[str, Any]] = {}
        self.subscribers: list[_Subscriber] = []
        self.requests: list[list[Any]] = []  # every REQ and CLOSE received
        self.connections = 0

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/", self._socket)

    async def _start(self) -> None:
        if not self.fixed_port:
            await super()._start()
            return
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.fixed_port).start()
        self.port = self.fixed_port

    def stop(self) -> None:
        """Close every connection, then the server (again: nothing to do)."""
        if self._loop.is_closed():
            return

        async def hang_up() -> None:
            for subscriber in list(self.subscribers):
                await subscriber.socket.close()

        asyncio.run_coroutine_threadsafe(hang_up(), self._loop).result(10)
        super().stop()

    def publish(self, *events: dict[str, Any]) -> None:
        """Store events and send them to matching open subscriptions (from any thread)."""
        asyncio.run_coroutine_threadsafe(self._publish(list(events)), self._loop).result(10)

    def send_raw(self, text: str) -> None:
        """Send `text` as-is to every open connection (a relay misbehaving)."""

        async def send() -> None:
            for subscriber in list(self.subscribers):
                await subscriber.socket.send_str(text)

        asyncio.run_coroutine_threadsafe(send(), self._loop).result(10)

    def open_subscriptions(self) -> int:
        """Return how many subscriptions are open now, over every connection."""
        return sum(len(subscriber.filters) for subscriber in self.subscribers)

    async def _publish(self, events: list[dict[str, Any]]) -> None:
        for event in events:
            self._store(event)
            for subscriber in list(self.subscribers):
                for sub_id, filters in list(subscriber.filters.items()):
                    if any(matches(event, flt) for flt in filters):
                        await subscriber.socket.send_str(json.dumps(["EVENT", sub_id, event]))

    def _store(self, event: dict[str, Any]) -> None:
        key = _address(event) or event["id"]
        held = self.events.get(key)
        if held is None or held["created_at"] <= event["created_at"]:
            self.events[key] = event

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self.connections += 1
        subscriber = _Subscriber(socket)
        self.subscribers.append(subscriber)
        try:
            async for message in socket:
                if message.type == WSMsgType.TEXT:
                    await self._handle(subscriber, message.data)
        finally:
            self.subscribers.remove(subscriber)
        return socket

    async def _handle(self, subscriber: _Subscriber, text: str) -> None:
        socket = subscriber.socket
        try:
            message = json.loads(text)
            verb = message[0]
        except (ValueError, IndexError, KeyError, TypeError):
            await socket.send_str(json.dumps(["NOTICE", "could not parse your message"]))
            return
        if verb == "EVENT" and len(message) == 2 and isinstance(message[1], dict):
            await self._publish([message[1]])
            await socket.send_str(json.dumps(["OK", message[1].get("id", ""), True, ""]))
        elif verb == "REQ" and len(message) >= 3:
            self.requests.append(message)
            sub_id, filters = message[1], message[2:]
            held = sorted(self.events.values(), key=lambda e: e["created_at"], reverse=True)
            for event in held:
                if any(matches(event, flt) for flt in filters):
                    await socket.send_str(json.dumps(["EVENT", sub_id, event]))
            await socket.send_str(json.dumps(["EOSE", sub_id]))
            subscriber.filters[sub_id] = filters
        elif verb == "CLOSE" and len(message) == 2:
            self.requests.append(message)
            subscriber.filters.pop(message[1], None)
        else:
            await socket.send_str(json.dumps(["NOTICE", f"unknown message {verb!r}"]))
