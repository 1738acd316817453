"""The player falls back to the room's HLS stream: when WebRTC cannot connect, and when
the room has more listeners than the server serves over WebRTC."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rooms.client import create_room, join_host, join_listener
from rooms.hub import HUB
from tests.browser import browser, chromium
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.test_player_browser import wait_until

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser

HEARD = 0.02  # the tone reads about 0.15 RMS at the player's meter
SILENT = 0.001
FALLBACK_S = 4.0  # media.js FALLBACK_MS: WebRTC gets this long from the offer
# A browser without HLS of its own (Firefox, older Chrome) says so here; the player
# then loads hls.js. Chromium's built-in HLS answers "maybe".
WITHOUT_NATIVE_HLS = """
(() => {
  const canPlay = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlay.call(this, type);
  };
})();
"""

# Every state the player shows from now on (a rejoin on loopback takes milliseconds).
RECORD_STATES = """
(() => {
  const el = document.getElementById("spaces-player");
  window.playerStates = [];
  new MutationObserver((records) => {
    records.forEach((r) => window.playerStates.push(r.oldValue));
    window.playerStates.push(el.dataset.playerState);
  }).observe(el, {attributeFilter: ["data-player-state"], attributeOldValue: true});
})()
"""


def player(page: Any, what: str) -> Any:
    return page.evaluate(f"window.spacesPlayer.{what}")


def assert_hls_mode(page: Any) -> None:
    """Check the listener is told they lag, cannot ask to speak, and hears the tone."""
    assert player(page, "transport") == "hls"
    assert page.locator("#spaces-player").get_attribute("data-player-state") == "playing"
    assert "a few seconds behind" in page.locator(".player-status").inner_text()
    assert page.get_by_role("button", name="Request to speak").count() == 0
    assert page.get_by_role("button", name="Leave").is_visible()
    wait_until(page, f"window.spacesPlayer.level > {HEARD}", 10)
    energy = float(player(page, "energy"))
    wait_until(page, f"window.spacesPlayer.energy > {energy} + 0.005", 5)


async def drop_listeners(server: ServerThread, room_id: str) -> None:
    """Remove the room's listeners as the server does when their connection fails."""
    assert server.app is not None
    room = server.app[HUB].live[room_id]
    for peer in [p for p in room.peers.values() if p.role == "listener"]:
        await room.remove(peer, reason="connection failed")


@pytest.fixture
def live_room(server: ServerThread) -> Any:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Behind a firewall"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    yield room
    server.call(host.close())


def test_listener_whose_webrtc_cannot_connect_plays_hls(
    server: ServerThread, live_room: dict[str, Any], browser: Any
) -> None:
    page = browser.new_page()
    page.goto(f"{server.url}/s/{live_room['id']}/embed")
    # Only a relay could get through this network, and none is configured: WebRTC
    # gathers no candidate at all, as when UDP is blocked.
    page.evaluate("document.getElementById('spaces-player').dataset.icePolicy = 'relay'")
    started = time.monotonic()
    page.get_by_role("button", name="Listen").click()
    wait_until(page, "window.spacesPlayer.transport === 'hls'", FALLBACK_S + 3)
    switched = time.monotonic() - started
    print(f"switched to HLS {switched:.2f} s after Listen")
    assert switched >= FALLBACK_S - 0.5  # WebRTC was given its chance first
    assert player(page, "state") == "playing"
    assert_hls_mode(page)
    print(f"tone heard over HLS {time.monotonic() - started:.2f} s after Listen")
    # Still in the room on the control connection: counted, and reactions go through.
    assert page.get_by_role("button", name="Send a reaction").is_visible()
    wait_until(page, "window.spacesPlayer.listeners === 1", 5)

    # The server gives up on the peer connection that never came up and drops the
    # listener; the player rejoins by itself while the stream plays on.
    page.evaluate(RECORD_STATES)
    server.call(drop_listeners(server, live_room["id"]))
    wait_until(page, "window.playerStates.includes('reconnecting')", 5)
    for _ in range(10):
        assert float(player(page, "level")) > HEARD, "the stream stopped during the rejoin"
        page.wait_for_timeout(100)
    wait_until(page, "window.spacesPlayer.state === 'playing'", 10)
    assert player(page, "transport") == "hls"
    wait_until(page, "window.spacesPlayer.listeners === 1", 5)
    page.get_by_role("button", name="Leave").click()
    wait_until(page, "window.spacesPlayer.state === 'idle'", 5)
    assert page.evaluate("document.querySelector('.player-hls').paused")


def test_listeners_past_the_webrtc_cap_play_hls_first(start_server: Any, browser: Any) -> None:
    server = start_server(max_webrtc_listeners=1)
    token = host_token()
    room = server.call(create_room(server.url, token, title="Packed room"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    first = server.call(join_listener(server.url, room["id"]))
    try:
        context = browser.new_context()
        context.add_init_script(WITHOUT_NATIVE_HLS)
        page = context.new_page()
        page.goto(f"{server.url}/s/{room['id']}/embed")
        started = time.monotonic()
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.transport === 'hls'", 5)
        # Straight to HLS, not after a failed WebRTC attempt.
        assert time.monotonic() - started < FALLBACK_S - 1
        assert page.evaluate("typeof window.Hls") == "function"  # loaded on demand
        assert_hls_mode(page)
        print(f"tone heard over hls.js {time.monotonic() - started:.2f} s after Listen")

        # Pause and play from the lock screen work on the stream too; play is live again.
        actions = "window.spacesPlayer.mediaSessionActions"
        page.evaluate(f"{actions}.pause()")
        wait_until(page, f"window.spacesPlayer.level < {SILENT}", 3)
        page.wait_for_timeout(1500)
        page.evaluate(f"{actions}.play()")
        wait_until(page, f"window.spacesPlayer.level > {HEARD}", 5)
        lag = page.evaluate(
            "(() => { const a = document.querySelector('.player-hls');"
            " return a.seekable.end(a.seekable.length - 1) - a.currentTime; })()"
        )
        print(f"behind the newest segment after play: {lag:.2f} s")
        assert lag < 4

        # Below the cap again, a new listener gets WebRTC.
        server.call(first.close())
        page.get_by_role("button", name="Leave").click()
        wait_until(page, "window.spacesPlayer.listeners === 0", 10)
        other = browser.new_page()
        other.goto(f"{server.url}/s/{room['id']}/embed")
        other.get_by_role("button", name="Listen").click()
        wait_until(other, "window.spacesPlayer.transport === 'webrtc'", 10)
        wait_until(other, f"window.spacesPlayer.level > {HEARD}", 10)
        assert other.get_by_role("button", name="Request to speak").is_visible()
    finally:
        server.call(first.close())
        server.call(host.close())
