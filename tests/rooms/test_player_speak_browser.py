"""A browser listener asks to speak, is approved, and the room hears its microphone."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from rooms.client import RoomConnection, create_room, join_host, join_listener
from tests.browser import browser, chromium  # noqa: F401 - fixtures
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.test_player_browser import page, wait_until  # noqa: F401 - fixture

pytestmark = pytest.mark.browser


def recent_rms(server: ServerThread, conn: RoomConnection, seconds: float = 0.5) -> float:
    async def read() -> np.ndarray:
        return conn.audio()[-int(seconds * 48000) :].astype(float)

    samples = server.call(read())
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def test_browser_listener_is_approved_and_heard(server: ServerThread, page: Any) -> None:  # noqa: F811
    token = host_token()
    room = server.call(create_room(server.url, token, title="Open mic"))
    # The host stays muted, so anything the listener hears comes from the browser.
    host = server.call(join_host(server.url, room["id"], token, unmute=False))
    listener = server.call(join_listener(server.url, room["id"]))
    try:
        page.goto(f"{server.url}/s/{room['id']}/embed")
        page.get_by_role("button", name="Listen").focus()
        page.keyboard.press("Enter")
        wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
        request = page.get_by_role("button", name="Request to speak")
        request.focus()
        page.keyboard.press("Enter")
        wait_until(page, "window.spacesPlayer.requested === true", 5)
        assert page.get_by_role("button", name="Cancel request").is_visible()
        assert recent_rms(server, listener) < 50  # silence so far

        peer_id = page.evaluate("window.spacesPlayer.peerId")
        deadline = time.monotonic() + 5
        while [r["peer_id"] for r in host.state.get("requests", [])] != [peer_id]:
            assert time.monotonic() < deadline, "the host never saw the request"
            time.sleep(0.05)
        server.call(host.approve(peer_id))
        wait_until(page, "window.spacesPlayer.role === 'speaker'", 5)
        # Approved speakers start muted, like the host: nobody is on air until they say so.
        unmute = page.get_by_role("button", name="Unmute")
        assert unmute.is_visible()
        page.wait_for_timeout(1000)
        assert recent_rms(server, listener) < 50
        unmute.click()
        wait_until(page, "window.spacesPlayer.muted === false", 5)
        assert page.get_by_role("button", name="Mute", exact=True).is_visible()

        deadline = time.monotonic() + 15
        loudest = 0.0
        while loudest < 300:  # Chromium's fake microphone beeps
            assert time.monotonic() < deadline, f"the room never heard the browser ({loudest})"
            time.sleep(0.25)
            loudest = max(loudest, recent_rms(server, listener))
        # Still listening on the same connection the whole time.
        assert page.evaluate("window.spacesPlayer.state") == "playing"
    finally:
        server.call(listener.close())
        server.call(host.close())
