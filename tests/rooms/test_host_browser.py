"""The host runs the space from the browser: unmute, approve a request, invite, end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rooms.client import create_room, join_listener
from tests.browser import (
    PHONE,
    axe_violations,
    browser,
    chromium,
    horizontal_overflow,
    save_screenshot,
)
from tests.rooms.conftest import ServerThread, host_token
from tests.rooms.test_player_browser import wait_until

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser


def test_host_approves_a_request_invites_and_ends(server: ServerThread, browser: Any) -> None:
    token = host_token(handle="alice", profile="https://portal.example/hosts/alice")
    room = server.call(create_room(server.url, token, title="Hosted from the browser"))
    listener = server.call(join_listener(server.url, room["id"]))
    try:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{server.url}/s/{room['id']}#token={token}")
        assert "token" not in page.url  # the fragment is taken out of the address
        page.get_by_role("button", name="Join as host").click()
        wait_until(page, "window.spacesPlayer.role === 'host'", 15)
        # A host starts muted, and unmutes with the mic button.
        unmute = page.get_by_role("button", name="Unmute")
        assert unmute.is_visible()
        unmute.click()
        wait_until(page, "window.spacesPlayer.muted === false", 5)
        assert page.get_by_role("button", name="Mute", exact=True).is_visible()
        assert page.get_by_text("No requests to speak").is_visible()

        # A listener raises their hand; the host approves them by name.
        server.call(listener.request_speak())
        approve = page.get_by_role("button", name="Approve Guest")
        wait_until(page, "window.spacesPlayer.requests.length === 1", 5)
        assert page.get_by_role("button", name="Decline Guest").is_visible()
        save_screenshot(page, "host with a request")
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []
        approve.click()
        wait_until(page, "window.spacesPlayer.speakers.length === 2", 5)
        assert page.locator(".player-stage").get_by_text("Speaker").is_visible()
        assert page.get_by_text("No requests to speak").is_visible()

        # An invite link for a guest speaker, in a card it wraps inside.
        page.get_by_role("button", name="Create an invite link for a speaker").click()
        link = page.locator(".player-invite-link")
        wait_until(page, "document.querySelector('.player-invite-link').textContent !== ''")
        assert "?invite=" in link.inner_text()
        assert page.get_by_role("button", name="Copy invite link").is_visible()
        card = page.locator(".player-invite-card").bounding_box()
        box = link.bounding_box()
        assert card and box and box["x"] + box["width"] <= card["x"] + card["width"]
        assert horizontal_overflow(page) == 0
        save_screenshot(page, "host with an invite link")

        # End for everyone, after saying yes.
        page.get_by_role("button", name="End space").click()
        dialog = page.get_by_role("dialog")
        assert dialog.is_visible()
        dialog.get_by_role("button", name="End space").click()
        wait_until(page, "window.spacesPlayer.roomState === 'ended'", 5)
        deadline = time.monotonic() + 5
        while not listener.ended.is_set():
            assert time.monotonic() < deadline, "the listener was not told the space ended"
            time.sleep(0.05)
        assert page.get_by_role("button", name="Join as host").count() == 0
    finally:
        server.call(listener.close())


def test_host_opens_a_scheduled_space_from_the_green_room(
    server: ServerThread, browser: Any
) -> None:
    token = host_token()
    due = datetime.now(UTC) + timedelta(hours=1)
    room = server.call(
        create_room(server.url, token, title="Later today", scheduled_start=due.isoformat())
    )
    page = browser.new_page()
    page.goto(f"{server.url}/s/{room['id']}#token={token}")
    page.get_by_role("button", name="Join as host").click()
    wait_until(page, "window.spacesPlayer.role === 'host'", 15)
    assert "green room" in page.locator(".player-status").inner_text()
    assert page.locator("[data-room-state]").text_content() == "Scheduled"
    page.get_by_role("button", name="Start the space").click()
    wait_until(page, "window.spacesPlayer.roomState === 'live'", 5)
    assert page.locator("[data-room-state]").text_content() == "Live"
    assert page.get_by_role("button", name="Start the space").count() == 0
    assert "Started" in page.locator(".player-when").inner_text()
    page.get_by_role("button", name="Leave").click()
    wait_until(page, "window.spacesPlayer.state === 'idle'", 5)
