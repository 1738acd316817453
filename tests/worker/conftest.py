"""Fixtures for worker tests: room-server status endpoints on loopback, installed services."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web

from bench.peers.push_service import PushService
from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.services import Services
from tests.support import LoopbackAiohttpServer
from worker import context


class StatusServer(LoopbackAiohttpServer):
    """A local server answering `GET /api/rooms/<id>` and `GET /s/<id>` as told, in a thread.

    `rooms[id]` is a status dict (200 JSON), an int (that HTTP status), a float (sleep that
    long first) or a string (redirect there). `pages[id]` is HTML served at /s/<id>.
    """

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.rooms: dict[str, Any] = {}
        self.pages: dict[str, str] = {}
        self.requests: list[str] = []

    def status_url(self, room_id: str) -> str:
        return f"{self.base}/api/rooms/{room_id}"

    async def _status(self, request: web.Request) -> web.StreamResponse:
        room_id = request.match_info["id"]
        self.requests.append(request.path)
        answer = self.rooms.get(room_id, 404)
        if isinstance(answer, float):
            await asyncio.sleep(answer)
            answer = {"id": room_id, "state": "live", "speakers": [], "listener_count": 1}
        if isinstance(answer, str):
            raise web.HTTPFound(answer)
        if isinstance(answer, int):
            return web.Response(status=answer, text="no")
        return web.json_response(answer)

    async def _page(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request.path)
        page = self.pages.get(request.match_info["id"])
        if page is None:
            return web.Response(status=404)
        return web.Response(text=page, content_type="text/html")

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/api/rooms/{id}", self._status)
        app.router.add_get("/s/{id}", self._page)


def room(room_id: str, state: str = "live", **extra: Any) -> dict[str, Any]:
    """Return a room server's status JSON for one room."""
    body = {
        "id": room_id,
        "title": f"Room {room_id}",
        "description": "",
        "state": state,
        "host": {"name": "Ella", "handle": "ella"},
        "speakers": [{"name": "Ella"}, {"name": "Ben"}],
        "listener_count": 7,
        "started_at": "2026-11-23T10:00:00Z",
        "scheduled_start": None,
        "ended_at": None,
        "share_url": f"http://rooms.test/s/{room_id}",
        "hls_url": None,
    }
    body.update(extra)
    return body


@pytest.fixture
def status_server() -> Iterator[StatusServer]:
    server = StatusServer("127.0.0.1").start()
    yield server
    server.stop()


@pytest.fixture
def forbidden_server() -> Iterator[StatusServer]:
    """A server on 127.0.0.2, which the worker's allow list does not name."""
    server = StatusServer("127.0.0.2").start()
    yield server
    server.stop()


@pytest.fixture
def worker_services(services: Services) -> Iterator[Services]:
    """The test's services, allowed to reach 127.0.0.1 only, installed for jobs to use."""
    config = services.config.with_(crawl_allow=("127.0.0.1",), live_check_interval_s=30.0)
    installed = context.install(dataclasses.replace(services, config=config))
    yield installed
    context.reset()


@pytest.fixture
def queued_services(worker_services: Services, redis_client) -> Iterator[Services]:
    """Installed services whose Redis is the `redis_client` under test (real or embedded)."""
    installed = context.install(dataclasses.replace(worker_services, _redis=redis_client))
    yield installed
    context.reset()


def add_space(
    services: Services, url: str, *, platform: str = "rooms", status_url: str = ""
) -> int:
    """Put a live space in the catalog, due for a check now; return its id."""
    # A host handle, because upsert_space reads a new space's state before its first flush
    # (None) unless a host lookup has flushed it; noted for the catalog's owner.
    record = SpaceRecord(
        url=url,
        platform=platform,
        title="Seeded",
        state=State.LIVE,
        status_url=status_url,
        host_handle="seed",
    )
    with services.catalog.session() as session:
        space = upsert_space(session, record)
        session.flush()
        return space.id


@pytest.fixture(autouse=True)
def fresh_http_pool() -> Iterator[None]:
    """Start each test with no pooled connections left from another test's servers."""
    yield
    from worker import httppool

    httppool.close()


@pytest.fixture
def push_service() -> Iterator[PushService]:
    """A push service on loopback that checks VAPID and decrypts what it is sent."""
    server = PushService().start()
    yield server
    server.stop()
