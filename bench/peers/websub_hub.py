"""A WebSub hub on loopback that speaks the W3C protocol, for subscriber tests.

It takes form-encoded subscription requests at `/hub` (202 Accepted), then verifies
the subscriber's intent with a GET to the callback carrying a random `hub.challenge`,
and keeps the subscription only if the challenge comes back. `publish()` delivers new
content of a topic to its verified subscribers, signed with `X-Hub-Signature` (an HMAC
of the body keyed with the subscriber's `hub.secret`). It also serves feeds that name
it as their hub, at `/feeds/<name>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from html import escape
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from bench.peers.loopback import LoopbackAiohttpServer


@dataclass
class Verification:
    """One verification of intent the hub made, and how the subscriber answered it."""

    mode: str
    topic: str
    callback: str
    challenge: str
    lease_s: int
    status: int
    body: str

    @property
    def confirmed(self) -> bool:
        return 200 <= self.status < 300 and self.body == self.challenge


@dataclass
class Subscription:
    """A verified subscription: where to deliver, the secret to sign with, until when."""

    topic: str
    callback: str
    secret: str
    expires: float


class WebSubHub(LoopbackAiohttpServer):
    """A hub on loopback: subscribe (202, then verify intent), publish, deny."""

    def __init__(self, host: str = "127.0.0.1", *, lease_s: int | None = None) -> None:
        super().__init__(host)
        self.lease_s = lease_s  # the lease granted; None grants what was asked
        self.answer = 202  # the status subscription requests get
        self.requests: list[dict[str, str]] = []
        self.verifications: list[Verification] = []
        self.subscriptions: dict[tuple[str, str], Subscription] = {}
        self.feeds: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"{self.base}/hub"

    def feed_url(self, name: str) -> str:
        return f"{self.base}/feeds/{name}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/hub", self._request)
        app.router.add_get("/feeds/{name}", self._feed)

    async def _feed(self, request: web.Request) -> web.Response:
        body = self.feeds.get(request.match_info["name"])
        if body is None:
            return web.Response(status=404)
        return web.Response(text=body, content_type="application/atom+xml")

    async def _request(self, request: web.Request) -> web.Response:
        form = {key: str(value) for key, value in (await request.post()).items()}
        self.requests.append(form)
        mode, topic, callback = (
            form.get(f"hub.{name}", "") for name in ("mode", "topic", "callback")
        )
        if mode not in ("subscribe", "unsubscribe") or not topic or not callback:
            return web.Response(
                status=400, text="hub.mode, hub.topic and hub.callback are required"
            )
        if len(form.get("hub.secret", "").encode()) >= 200:
            return web.Response(status=400, text="hub.secret must be under 200 bytes")
        if self.answer != 202:
            return web.Response(status=self.answer)
        # Intent is verified after answering, as the protocol has it.
        task = asyncio.ensure_future(self._verify(form))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.Response(status=202)

    async def _verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        asked = form.get("hub.lease_seconds", "")
        lease_s = self.lease_s or (int(asked) if asked.isdigit() else 864_000)
        challenge = secrets.token_urlsafe(24)
        params = {
            "hub.mode": mode,
            "hub.topic": topic,
            "hub.challenge": challenge,
            "hub.lease_seconds": str(lease_s),
        }
        status, body = await self._get(URL(callback).update_query(params))
        check = Verification(mode, topic, callback, challenge, lease_s, status, body)
        if check.confirmed and mode == "subscribe":
            # A renewal replaces the subscription, and its secret, once it is verified.
            self.subscriptions[(topic, callback)] = Subscription(
                topic, callback, form.get("hub.secret", ""), time.time() + lease_s
            )
        elif check.confirmed:
            self.subscriptions.pop((topic, callback), None)
        self.verifications.append(check)

    @staticmethod
    async def _get(url: URL) -> tuple[int, str]:
        try:
            async with aiohttp.ClientSession() as session, session.get(url) as response:
                return response.status, await response.text()
        except aiohttp.ClientError as error:
            return 0, str(error)

    def wait_for_verifications(self, count: int, timeout_s: float = 10.0) -> list[Verification]:
        """Wait until the hub has made `count` verifications; return them all."""
        deadline = time.monotonic() + timeout_s
        while len(self.verifications) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.verifications)} verifications, not {count}")
            time.sleep(0.02)
        return list(self.verifications)

    def publish(
        self,
        topic: str,
        body: bytes,
        *,
        content_type: str = "application/atom+xml",
        method: str = "sha256",
        secret: str | None = None,
        signed: bool = True,
    ) -> list[int]:
        """Deliver `body` to every verified subscriber of `topic`; return their statuses.

        Signed with each subscriber's secret, or with `secret` if given (a forger's).
        """
        subscribers = [sub for sub in self.subscriptions.values() if sub.topic == topic]
        deliveries = [
            self._deliver(sub, body, content_type, method, secret, signed) for sub in subscribers
        ]

        async def run() -> list[int]:
            return list(await asyncio.gather(*deliveries))

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(15)

    async def _deliver(
        self,
        sub: Subscription,
        body: bytes,
        content_type: str,
        method: str,
        secret: str | None,
        signed: bool,
    ) -> int:
        headers = {
            "Content-Type": content_type,
            "Link": f'<{self.url}>; rel="hub", <{sub.topic}>; rel="self"',
        }
        key = sub.secret if secret is None else secret
        if signed and key:
            digest = hmac.new(key.encode(), body, getattr(hashlib, method)).hexdigest()
            headers["X-Hub-Signature"] = f"{method}={digest}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(sub.callback, data=body, headers=headers) as response,
        ):
            await response.read()
            return response.status

    def deny(self, topic: str, callback: str, reason: str = "not allowed") -> int:
        """Tell a subscriber its subscription to `topic` is denied; return its answer's status."""
        params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": reason}

        async def run() -> int:
            return (await self._get(URL(callback).update_query(params)))[0]

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(15)


def atom_feed(
    title: str, self_url: str, hub_url: str, entries: list[dict[str, Any]] | None = None
) -> str:
    """Return an Atom feed naming `hub_url` as its hub, with entries of (id, title, link, html)."""
    items = []
    for entry in entries or []:
        items.append(
            "<entry>"
            f"<id>{escape(entry['id'])}</id><title>{escape(entry['title'])}</title>"
            f'<link rel="alternate" href="{escape(entry["link"])}"/>'
            "<updated>2026-11-23T10:00:00Z</updated>"
            f'<content type="html">{escape(entry.get("html", ""))}</content>'
            "</entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>{escape(self_url)}</id>"
        "<updated>2026-11-23T10:00:00Z</updated>"
        f'<link rel="hub" href="{escape(hub_url)}"/>'
        f'<link rel="self" href="{escape(self_url)}"/>' + "".join(items) + "</feed>"
    )
