"""The player in a real Chromium that may only use TURN relays: it hears the room."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from rooms.client import create_room, join_host
from rooms.config import IceSettings
from tests.browser import browser, chromium
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.coturn import TURN_SECRET, TURNSERVER, Coturn, coturn, relayed_bytes
from tests.rooms.test_player_browser import wait_until

__all__ = ["browser", "chromium", "coturn"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(TURNSERVER is None, reason="coturn (turnserver) is not installed"),
]

ENERGY = "Number(document.getElementById('spaces-player').dataset.audioEnergy) > 0"
# 100 packets of 20 ms: two seconds of the room's audio have come through.
TWO_SECONDS = "Number(document.getElementById('spaces-player').dataset.packetsReceived) >= 100"


def test_player_with_relay_only_ice_hears_the_room(
    start_server: Any, coturn: Coturn, browser: Any
) -> None:
    ice = IceSettings(turn=(coturn.url,), turn_secret=TURN_SECRET, turn_ttl_s=600)
    # No HLS: the audio can only come over WebRTC, so through the relay.
    server: ServerThread = start_server(ice=ice, hls=False)
    token = host_token()
    room = server.call(create_room(server.url, token, title="Relayed in the browser"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    page = browser.new_page()
    try:
        page.goto(f"{server.url}/s/{room['id']}/embed")
        player = page.locator("#spaces-player")
        servers = json.loads(player.get_attribute("data-ice-servers") or "[]")
        username = servers[-1]["username"]  # this page view's own TURN credentials
        # The player's relay-only switch (iceTransportPolicy: "relay"): no host or
        # server-reflexive path may carry the audio.
        page.evaluate("document.getElementById('spaces-player').dataset.icePolicy = 'relay'")
        started = time.monotonic()
        page.get_by_role("button", name="Listen").click()
        wait_until(page, ENERGY, 15)
        print(f"relayed audio in Chromium after {time.monotonic() - started:.2f} s")
        assert player.get_attribute("data-player-state") == "playing"
        wait_until(page, TWO_SECONDS, 10)
        # Leaving closes the peer connection, which gives the allocation back: coturn
        # then logs what it relayed.
        page.get_by_role("button", name="Leave").click()
    finally:
        page.close()
        server.call(host.close())
    received, _ = relayed_bytes(coturn, username)
    print(f"relayed to the browser: {received} B")
    assert received > 8000  # two seconds of Opus came through the relay
