"""The player in Chromium rejoins by itself when its network link is cut and restored.

The browser reaches the room server through a loopback proxy that can drop every
connection; the talkers connect directly. Audio is judged by the energy the page
receives, not by what the player says.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from rooms.client import create_room, join_host, join_listener
from rooms.protocol import SCHEMAS
from tests.browser import browser, chromium, wait_until  # noqa: F401 - fixtures
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.outage import TcpProxy
from tests.rooms.test_player_browser import page  # noqa: F401 - fixture
from tests.rooms.test_player_speak_browser import recent_rms

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RESUME_TOKENS = "resume" in SCHEMAS["join"].fields


@pytest.fixture
def proxy(server: ServerThread) -> Iterator[TcpProxy]:
    cutter = TcpProxy(server.port).start()
    yield cutter
    cutter.stop()


def player(page: Any, field: str) -> Any:  # noqa: F811
    return page.evaluate(f"window.spacesPlayer.{field}")


def forget_energy(page: Any) -> None:  # noqa: F811
    """Zero the energy shown, so only audio on the next connection counts."""
    page.evaluate("window.spacesPlayer.energy = 0")


def wait_for_audio(page: Any, timeout: float) -> float:  # noqa: F811
    """Wait until the page plays and receives audio energy; return the seconds it took."""
    began = time.monotonic()
    wait_until(
        lambda: player(page, "state") == "playing" and player(page, "energy") > 0,
        timeout,
        "audio arriving in the page",
    )
    return time.monotonic() - began


def cut_and_restore(page: Any, proxy: TcpProxy, hold: float) -> float:  # noqa: F811
    """Cut the link for `hold` seconds; return the seconds from restore to audio."""
    cut_at = time.monotonic()
    proxy.cut()
    wait_until(lambda: player(page, "state") == "reconnecting", 5, "the reconnecting state")
    forget_energy(page)
    if hold > 8:
        wait_until(lambda: player(page, "state") == "unreachable", 10, "the unreachable state")
        assert time.monotonic() - cut_at < 10
        status = page.locator(".player-status").inner_text()
        assert "Can't reach the room" in status and "Trying again" in status
        assert page.get_by_role("button", name="Leave").is_visible()
        assert player(page, "energy") == 0  # nothing plays while cut
    time.sleep(max(0.0, hold - (time.monotonic() - cut_at)))
    proxy.restore()
    return wait_for_audio(page, 10)


def test_listener_hears_the_room_again_after_the_network_returns(
    server: ServerThread,
    proxy: TcpProxy,
    page: Any,  # noqa: F811
) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Cut and restore"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    try:
        page.goto(f"{proxy.url}/s/{room['id']}/embed")
        page.get_by_role("button", name="Listen").click()
        wait_for_audio(page, 15)
        # One outage long enough to be told the room cannot be reached, then short ones.
        times = [cut_and_restore(page, proxy, hold) for hold in (9.0, 0.5, 2.0)]
        times.sort()
        p95 = times[min(len(times) - 1, int(0.95 * len(times)))]
        print(f"\nnetwork back → audio: {', '.join(f'{t:.2f} s' for t in times)}; p95 {p95:.2f} s")
        assert page.locator(".player-status").inner_text() == "Playing live audio."

        # Leaving while it rejoins stops the attempts for good.
        proxy.cut()
        wait_until(lambda: player(page, "state") == "reconnecting", 5, "the reconnecting state")
        page.get_by_role("button", name="Leave").click()
        # Idle; or, once its look at the room's status fails in the cut, saying so.
        assert player(page, "state") in ("idle", "unreachable")
        attempts = proxy.ws_attempts()
        proxy.restore()
        time.sleep(2.5)
        assert proxy.ws_attempts() == attempts
        assert player(page, "state") in ("idle", "unreachable")
        assert page.get_by_role("button", name="Listen").is_visible()
    finally:
        server.call(host.close())


@pytest.mark.xfail(
    not RESUME_TOKENS,
    reason="the room server does not take resume tokens yet, so a guest comes back a listener",
    strict=False,
)
def test_speaker_comes_back_a_muted_speaker_and_is_heard(
    server: ServerThread,
    proxy: TcpProxy,
    page: Any,  # noqa: F811
) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Speaker on a train"))
    host = server.call(join_host(server.url, room["id"], token, unmute=False))
    listener = server.call(join_listener(server.url, room["id"]))
    try:
        page.goto(f"{proxy.url}/s/{room['id']}/embed")
        page.get_by_role("button", name="Listen").click()
        wait_until(lambda: player(page, "state") == "playing", 15, "playing")
        page.get_by_role("button", name="Request to speak").click()
        wait_until(lambda: host.state.get("requests"), 5, "the host seeing the request")
        server.call(host.approve(player(page, "peerId")))
        wait_until(lambda: player(page, "role") == "speaker", 5, "becoming a speaker")

        proxy.cut()
        wait_until(lambda: player(page, "state") == "reconnecting", 5, "the reconnecting state")
        time.sleep(0.5)
        proxy.restore()
        wait_until(lambda: player(page, "state") == "playing", 10, "playing again")
        wait_until(lambda: player(page, "role") == "speaker", 5, "the speaker role back")
        assert player(page, "muted") is True
        page.wait_for_timeout(1000)
        assert recent_rms(server, listener) < 50  # back muted: nobody hears it yet

        page.get_by_role("button", name="Unmute").click()
        wait_until(lambda: player(page, "muted") is False, 5, "unmuting")
        wait_until(
            lambda: recent_rms(server, listener) > 300, 15, "the room hearing the speaker again"
        )
    finally:
        server.call(listener.close())
        server.call(host.close())
