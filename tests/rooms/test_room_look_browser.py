"""The room page and the embed look right: phones, dark mode, accessibility, screenshots."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rooms.client import create_room, join_host, join_listener
from tests.browser import (
    DESKTOP,
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

LONG_TITLE = "Late-night jazz and the people who keep it alive " * 2


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_room_page_and_embed_fit_phones_and_pass_axe(
    server: ServerThread, scheme: str, browser: Any
) -> None:
    token = host_token()
    room = server.call(
        create_room(
            server.url,
            token,
            title=LONG_TITLE.strip(),
            description="Bring a record you love.\nEveryone is welcome.",
            topics=["jazz", "music"],
        )
    )
    host = server.call(join_host(server.url, room["id"], token))
    others = [server.call(join_listener(server.url, room["id"])) for _ in range(2)]
    try:
        for viewport in (PHONE, DESKTOP):
            context = browser.new_context(viewport=viewport, color_scheme=scheme)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            for where, path in pages(room["id"]):
                page.goto(server.url + path)
                # Before listening: the status JSON has filled in the stage.
                wait_until(page, "document.querySelector('.player-stage .player-face')")
                assert page.locator(".player-stage").get_by_text("Host").is_visible()
                check(page, f"room {where} {scheme} idle")

                page.get_by_role("button", name="Listen").click()
                wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
                wait_until(page, "window.spacesPlayer.speakers.length === 1", 5)
                assert page.get_by_role("button", name="Leave").is_visible()
                assert page.get_by_role("button", name="Request to speak").is_visible()
                page.get_by_role("button", name="Send a reaction").click()
                assert page.get_by_role("button", name="React clap").is_visible()
                page.get_by_role("button", name="Adjust settings").click()
                assert page.get_by_role("button", name="Captions").is_visible()
                check(page, f"room {where} {scheme} listening")
                page.get_by_role("button", name="Leave").click()
                wait_until(page, "window.spacesPlayer.state === 'idle'", 5)
            assert errors == []
            context.close()
    finally:
        for conn in others:
            server.call(conn.close())
        server.call(host.close())


def pages(room_id: str) -> list[tuple[str, str]]:
    """Return the room's two pages as (name, path): the public page and the embed."""
    return [("page", f"/s/{room_id}"), ("embed", f"/s/{room_id}/embed")]


def check(page: Any, name: str) -> None:
    """No sideways scrolling, no serious axe finding, and no white box in dark mode."""
    save_screenshot(page, name)
    assert horizontal_overflow(page) == 0, f"{name}: wider than the screen"
    assert axe_violations(page) == [], name
    dark = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches")
    if dark:
        backgrounds = page.evaluate(
            "[document.body, document.getElementById('spaces-player')]"
            ".map(el => getComputedStyle(el).backgroundColor)"
        )
        assert all(bg.startswith("rgb(") and bright(bg) < 80 for bg in backgrounds), backgrounds


def bright(rgb: str) -> float:
    """Return the mean of the red, green and blue parts of a computed `rgb(...)` colour."""
    parts = [float(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].split(",")[:3]]
    return sum(parts) / 3


def test_ended_room_shows_no_listen_button(server: ServerThread, browser: Any) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Over now"))
    host = server.call(join_host(server.url, room["id"], token))
    server.call(host.end())
    server.call(host.close())
    for scheme in ("light", "dark"):
        page = browser.new_page(viewport=PHONE, color_scheme=scheme)
        for where, path in pages(room["id"]):
            page.goto(server.url + path)
            wait_until(page, "document.querySelector('.player-ended:not([hidden])')")
            assert page.get_by_role("button", name="Listen").count() == 0
            assert "This space has ended" in page.locator(".player-status").inner_text()
            assert page.get_by_text("There is no recording of this space").is_visible() or (
                page.get_by_role("link", name="Play the recording").is_visible()
            )
            assert "Ended" in page.locator(".player-when").inner_text()
            check(page, f"ended {where} {scheme}")
        page.close()


def test_missing_room_page_is_styled(server: ServerThread, browser: Any) -> None:
    page = browser.new_page(viewport=PHONE, color_scheme="dark")
    response = page.goto(f"{server.url}/s/nothing-here")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="No such space").is_visible()
    assert page.locator("link[rel=icon]").get_attribute("href") == "/static/rooms/favicon.svg"
    icon = page.request.get(f"{server.url}/static/rooms/favicon.svg")
    assert icon.ok and "<svg" in icon.text()
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []


def test_scheduled_room_fits_phones_and_passes_axe(server: ServerThread, browser: Any) -> None:
    due = datetime.now(UTC) + timedelta(days=1)
    room = server.call(
        create_room(server.url, host_token(), title="Tomorrow", scheduled_start=due.isoformat())
    )
    for scheme in ("light", "dark"):
        page = browser.new_page(viewport=PHONE, color_scheme=scheme)
        for where, path in pages(room["id"]):
            page.goto(server.url + path)
            assert "scheduled for" in page.locator(".player-status").inner_text()
            assert page.get_by_text("Nobody on stage yet").is_visible()
            assert page.get_by_role("button", name="Listen").count() == 0
            check(page, f"scheduled {where} {scheme}")
        page.close()
