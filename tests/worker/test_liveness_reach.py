"""A live room whose server cannot be reached shows so at the first failed check.

"Checked N s ago" and the API's `last_checked_at` count only checks that reached the
room server: a check that timed out or was refused leaves them as they were, and the
space page, the API's health and the listings say the room server cannot be reached.
When a check reaches it again, the space is live and fresh again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from flask.testing import FlaskClient

from core.platforms.rooms import STATUS_TIMEOUT_S
from core.services import Services
from portal.app import create_app
from tests.support import free_port
from tests.worker.conftest import StatusServer, add_space, room
from worker.liveness_jobs import check_spaces


class FixedPortStatusServer(StatusServer):
    """A status server on a port chosen beforehand, so it can come back at one address."""

    def __init__(self, port: int) -> None:
        super().__init__("127.0.0.1")
        self.wanted = port

    async def _start(self) -> None:
        app = web.Application()
        self.add_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.wanted).start()
        self.port = self.wanted

    def stop(self) -> None:
        if not self._loop.is_closed():  # the test may have stopped it already
            super().stop()


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def server(port: int) -> Iterator[FixedPortStatusServer]:
    started = FixedPortStatusServer(port).start()
    yield started
    started.stop()


def _client(services: Services) -> FlaskClient:
    built = dataclasses.replace(services)
    return create_app(built.config, built).test_client()


def _look(services: Services, space_id: int) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """Return the space's API form, its page, and its item in the API's live listing."""
    client = _client(services)
    space = client.get(f"/api/v1/spaces/{space_id}").get_json()
    page = client.get(f"/spaces/{space_id}").get_data(as_text=True)
    listed = client.get("/api/v1/spaces?state=live").get_json()["items"]
    return space, page, next(item for item in listed if item["id"] == space_id)


def _timed_check(space_id: int) -> float:
    began = time.monotonic()
    counts = check_spaces([space_id])
    assert counts["checked"] == 1
    return time.monotonic() - began


def test_an_unreachable_room_server_shows_at_once_and_a_reached_one_is_fresh_again(
    worker_services: Services, server: FixedPortStatusServer, port: int
) -> None:
    server.rooms["r"] = room("r", title="Night owls")
    space_id = add_space(
        worker_services, "http://rooms.test/s/r", status_url=server.status_url("r")
    )
    check_spaces([space_id])
    space, page, listed = _look(worker_services, space_id)
    reached = space["last_checked_at"]
    assert space["state"] == "live" and reached and space["health"]["reachable"] is True
    assert "checked " in page and "Can&#39;t reach the room server (" not in page
    assert ">LIVE<" in page

    # Hung: the server takes the connection and never answers in time.
    server.rooms["r"] = STATUS_TIMEOUT_S + 2  # seconds before it answers
    took = _timed_check(space_id)
    print(f"a hung room server's check failed after {took:.1f} s")
    assert took < STATUS_TIMEOUT_S + 1.5
    space, page, listed = _look(worker_services, space_id)
    assert space["last_checked_at"] == reached, "a failed check moved last_checked_at"
    assert space["health"]["reachable"] is False and space["health"]["reason"] == "timeout"
    assert space["health"]["last_checked_at"] > reached
    assert "Can&#39;t reach the room server (no answer in time); last reached" in page
    assert ">Live?<" in page and ">LIVE<" not in page
    assert listed["health"]["reachable"] is False
    assert listed["last_checked_at"] == reached

    # Gone: nothing listens on its port any more.
    server.stop()
    took = _timed_check(space_id)
    print(f"a stopped room server's check failed after {took:.1f} s")
    space, page, listed = _look(worker_services, space_id)
    assert space["last_checked_at"] == reached
    assert space["health"]["reason"] == "connect" and space["health"]["failures"] == 2
    assert "Can&#39;t reach the room server (no connection to the server)" in page

    # Back on the same address: the next check reaches it, and the space is fresh again.
    back = FixedPortStatusServer(port).start()
    try:
        back.rooms["r"] = room("r", title="Night owls", listener_count=9)
        check_spaces([space_id])
        space, page, listed = _look(worker_services, space_id)
    finally:
        back.stop()
    assert space["last_checked_at"] > reached
    assert space["health"] == {**space["health"], "reachable": True, "failures": 0, "reason": ""}
    assert space["listener_count"] == 9
    assert "checked " in page and "Can&#39;t reach the room server (" not in page
    assert ">LIVE<" in page
    assert listed["health"]["reachable"] is True
