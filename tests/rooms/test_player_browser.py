"""The embeddable player in a real Chromium: press Listen and hear the host's tone."""

from __future__ import annotations

import time
from typing import Any

import pytest

from rooms.client import create_room, join_host
from tests.browser import browser, chromium
from tests.rooms.conftest import ServerThread, host_token

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser


def wait_until(page: Any, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until truthy.

    page.wait_for_function evaluates strings inside the page, which its CSP
    (script-src 'self', no eval) rightly forbids; page.evaluate is not affected.
    """
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout} s: {expression}")
        time.sleep(0.1)


@pytest.fixture
def page(browser: Any) -> Any:
    return browser.new_page()


def test_listen_button_plays_the_room(server: ServerThread, page: Any) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Browser tone"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    try:
        page.goto(f"{server.url}/s/{room['id']}/embed")
        button = page.get_by_role("button", name="Listen")
        button.focus()
        page.keyboard.press("Enter")  # keyboard operable, not only clickable
        wait_until(
            page, "Number(document.getElementById('spaces-player').dataset.audioEnergy) > 0", 15
        )
        player = page.locator("#spaces-player")
        assert player.get_attribute("data-player-state") == "playing"
        assert page.get_by_role("button", name="Leave").is_visible()
        wait_until(page, "window.spacesPlayer.listeners === 1", 5)

        server.call(host.end())
        wait_until(page, "window.spacesPlayer.state === 'ended'", 5)
        assert "has ended" in page.locator(".player-status").inner_text()
        assert page.get_by_role("button", name="Listen").count() == 0
        assert "There is no recording" in page.locator(".player-ended").inner_text()
    finally:
        server.call(host.close())


def test_player_says_when_the_server_is_unreachable(server: ServerThread, page: Any) -> None:
    room = server.call(create_room(server.url, host_token(), title="Going away"))
    page.goto(f"{server.url}/s/{room['id']}/embed")
    server.stop()
    page.get_by_role("button", name="Listen").click()
    wait_until(page, "window.spacesPlayer.state === 'unreachable'", 10)
    assert "Can't reach the room server" in page.locator(".player-status").inner_text()
