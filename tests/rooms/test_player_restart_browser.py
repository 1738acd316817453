"""The player in Chromium when the room server itself stops, and when it comes back.

The talker runs on a loop of its own, so it outlives the server it talks to.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from rooms.client import create_room, join_host
from tests.browser import browser, chromium, wait_until  # noqa: F401 - fixtures
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.outage import LoopThread, TcpProxy
from tests.rooms.test_player_browser import page  # noqa: F401 - fixture
from tests.rooms.test_player_reconnect_browser import (
    forget_energy,
    player,
    wait_for_audio,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def clients() -> Iterator[LoopThread]:
    loop = LoopThread()
    yield loop
    loop.stop()


def listen_to_a_tone(server: ServerThread, clients: LoopThread, page: Any, base: str) -> Any:  # noqa: F811
    """Open a room with a host sending a tone; have the page listen through `base`."""
    token = host_token()
    room = clients.call(create_room(server.url, token, title="Server outage"))
    host = clients.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    page.goto(f"{base}/s/{room['id']}/embed")
    page.get_by_role("button", name="Listen").click()
    wait_for_audio(page, 15)
    return room, host


def wait_unreachable(page: Any, since: float) -> None:  # noqa: F811
    """Wait for "Can't reach the room"; fail unless it shows within 10 s of `since`."""
    wait_until(lambda: player(page, "state") == "unreachable", 11, "the unreachable state")
    assert time.monotonic() - since < 10
    assert "Can't reach the room" in page.locator(".player-status").inner_text()


def test_stopped_server_is_said_unreachable_and_leave_stops_trying(
    server: ServerThread,
    clients: LoopThread,
    page: Any,  # noqa: F811
) -> None:
    proxy = TcpProxy(server.port).start()  # only to count the page's attempts
    try:
        _, host = listen_to_a_tone(server, clients, page, proxy.url)
        stopped_at = time.monotonic()
        server.stop()
        wait_until(lambda: player(page, "state") != "playing", 5, "noticing the server went")
        wait_unreachable(page, stopped_at)
        attempts = proxy.ws_attempts()
        time.sleep(2.5)
        assert proxy.ws_attempts() > attempts, "the player stopped trying by itself"

        page.get_by_role("button", name="Leave").click()
        # Idle; or, once its look at the room's status fails, saying the server is away.
        assert player(page, "state") in ("idle", "unreachable")
        assert page.get_by_role("button", name="Listen").is_visible()
        attempts = proxy.ws_attempts()
        time.sleep(2.5)
        assert proxy.ws_attempts() == attempts, "the player kept trying after Leave"
        clients.call(host.close())
    finally:
        proxy.stop()


def test_player_recovers_by_itself_when_the_server_is_back(
    server: ServerThread,
    clients: LoopThread,
    page: Any,  # noqa: F811
) -> None:
    room, host = listen_to_a_tone(server, clients, page, server.url)
    stopped_at = time.monotonic()
    server.stop()
    clients.call(host.close())
    wait_unreachable(page, stopped_at)
    forget_energy(page)

    # The same port and data directory, as `spaces rooms` restarted by its supervisor.
    again = ServerThread(server.config, server.port, server.ping_port).start()
    try:
        restarted_at = time.monotonic()
        status = again.call(_state(again, room["id"]))
        if status != "live":
            pytest.xfail("the room server does not yet keep live rooms live across a restart")
        token = host_token()
        host = clients.call(join_host(again.url, room["id"], token, tone_hz=440.0))
        took = wait_for_audio(page, 15)
        print(f"\nserver back → audio: {time.monotonic() - restarted_at:.2f} s (page {took:.2f} s)")
        clients.call(host.close())
    finally:
        again.stop()


async def _state(server: ServerThread, room_id: str) -> str:
    from rooms.hub import HUB

    assert server.app is not None
    hub = server.app[HUB]
    record = hub.store.get(room_id)
    return str(hub.status(record)["state"]) if record is not None else "missing"
