"""The player on a phone: sound from an <audio> element, the lock screen's Media Session
(metadata, play, pause, stop), and audio levels that come back after the system
suspends the page's AudioContext."""

from __future__ import annotations

import time
import urllib.request
from typing import Any

import pytest

from rooms.client import create_room, join_host
from tests.browser import PHONE, browser, chromium
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.test_player_browser import wait_until

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser

# Keeps what the page registers with the real Media Session API, so the test can press
# what the lock screen would press; the handlers still reach the browser.
RECORD_HANDLERS = """
(() => {
  window.lockScreen = {};
  const session = navigator.mediaSession;
  const register = session.setActionHandler.bind(session);
  session.setActionHandler = (action, handler) => {
    window.lockScreen[action] = handler;
    register(action, handler);
  };
})();
"""
# The tone is loud (about 0.15 RMS at the meter); silence reads 0.
HEARD = 0.02
SILENT = 0.001


@pytest.fixture
def phone(browser: Any) -> Any:
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    context.add_init_script(RECORD_HANDLERS)
    return context.new_page()


def level(page: Any) -> float:
    return float(page.evaluate("window.spacesPlayer.level || 0"))


def test_phone_plays_through_an_audio_element_with_lock_screen_controls(
    server: ServerThread, phone: Any
) -> None:
    token = host_token(name="Alice Example")
    room = server.call(create_room(server.url, token, title="Night owls"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    page = phone
    try:
        page.goto(f"{server.url}/s/{room['id']}/embed")
        started = time.monotonic()
        page.get_by_role("button", name="Listen").tap()
        wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
        wait_until(page, f"window.spacesPlayer.level > {HEARD}", 10)
        print(f"tone heard at the meter {time.monotonic() - started:.2f} s after Listen")
        # The sound is the <audio> element's, playing the room's stream.
        audio = page.evaluate(
            "(() => { const a = document.querySelector('.player-audio');"
            " return {stream: !!a.srcObject, paused: a.paused,"
            " live: a.srcObject && a.srcObject.getAudioTracks()[0].readyState}; })()"
        )
        assert audio == {"stream": True, "paused": False, "live": "live"}

        meta = page.evaluate(
            "(() => { const m = navigator.mediaSession.metadata; return {title: m.title,"
            " artist: m.artist, artwork: m.artwork.map(a => a.src),"
            " state: navigator.mediaSession.playbackState,"
            " actions: Object.keys(window.lockScreen).filter(k => window.lockScreen[k])}; })()"
        )
        assert meta["title"] == "Night owls"
        assert meta["artist"] == "Alice Example"
        assert meta["state"] == "playing"
        assert {"play", "pause", "stop"} <= set(meta["actions"])
        png = next(src for src in meta["artwork"] if src.endswith(".png"))
        with urllib.request.urlopen(png, timeout=5) as response:
            assert response.headers["Content-Type"] == "image/png"
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"

        # Pause on the lock screen: silence here, while the room goes on.
        page.evaluate("window.lockScreen.pause()")
        wait_until(page, f"window.spacesPlayer.level < {SILENT}", 3)
        assert page.evaluate("document.querySelector('.player-audio').paused")
        assert page.evaluate("navigator.mediaSession.playbackState") == "paused"
        page.wait_for_timeout(600)
        assert level(page) < SILENT
        packets = int(
            page.evaluate(
                "Number(document.getElementById('spaces-player').dataset.packetsReceived)"
            )
        )

        # Play: live again at once, on the same connection.
        page.evaluate("window.lockScreen.play()")
        wait_until(page, f"window.spacesPlayer.level > {HEARD}", 3)
        assert not page.evaluate("document.querySelector('.player-audio').paused")
        assert page.evaluate("navigator.mediaSession.playbackState") == "playing"
        assert (
            int(
                page.evaluate(
                    "Number(document.getElementById('spaces-player').dataset.packetsReceived)"
                )
            )
            >= packets
        )

        # The system suspends the page's audio (a call, a locked phone): levels come back.
        page.evaluate(
            "(() => { const ctx = window.spacesPlayer.audioContext; window.audioStates = [];"
            " ctx.addEventListener('statechange', () => window.audioStates.push(ctx.state));"
            " return ctx.suspend(); })()"
        )
        wait_until(page, "window.audioStates.includes('suspended')", 3)
        wait_until(page, "window.spacesPlayer.audioContext.state === 'running'", 5)
        wait_until(page, f"window.spacesPlayer.level > {HEARD}", 5)

        # Stop on the lock screen leaves the room.
        page.evaluate("window.lockScreen.stop()")
        wait_until(page, "window.spacesPlayer.state === 'idle'", 5)
        assert page.get_by_role("button", name="Listen").is_visible()
        assert page.evaluate("document.querySelector('.player-audio').srcObject") is None
        assert page.evaluate("navigator.mediaSession.playbackState") == "none"
        deadline = time.monotonic() + 5
        while host.state.get("listener_count") != 0:
            assert time.monotonic() < deadline, f"still counted: {host.state}"
            time.sleep(0.1)
    finally:
        server.call(host.close())
