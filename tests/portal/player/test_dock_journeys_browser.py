"""The audio survives the portal: every kind of navigation, a reload and a new tab.

A real room server with a host sending a tone, the portal on loopback, and Chromium.
A listener presses Listen on a space page, then signs in (a page with its own
stylesheet, a form answered with its errors, then a POST that redirects), follows the
host, searches, opens the host dashboard (its own stylesheets and script), and goes
back and forward; the very same player document keeps receiving audio throughout.
A reload shows "Reconnecting" and the audio comes back; a new tab takes the room over
and the old tab stops.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Error as PlaywrightError

from core.catalog.models import User
from portal.accounts.users import create_user
from tests.browser import browser, chromium, save_screenshot, wait_until
from tests.portal.accounts.helpers import PASSWORD
from tests.portal.player.conftest import Stack

__all__ = ["browser", "chromium"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCK_FRAME = "#player-dock iframe.player"
# Recorded in every document from its start: the dock's states as they are shown.
RECORD_DOCK_STATES = """
window.dockStates = [];
document.addEventListener("DOMContentLoaded", () => {
  const dock = document.getElementById("player-dock");
  if (!dock) return;
  const note = () => window.dockStates.push([performance.now(), dock.dataset.playerState || "",
    dock.querySelector(".dock-state").textContent, !dock.querySelector(".dock-resume").hidden]);
  new MutationObserver(note).observe(dock, { attributes: true, subtree: true,
    characterData: true, childList: true });
  note();
});
"""


def player(page: Any) -> Any:
    """Return the room server's player frame inside the portal page, or None."""
    return next((f for f in page.frames if urlsplit(f.url).path.endswith("/embed")), None)


def in_player(page: Any, script: str, default: Any = None) -> Any:
    """Evaluate `script` in the player frame; `default` while it has no document."""
    frame = player(page)
    if frame is None:
        # Playwright learns of new frames only while it is called: give it the chance.
        page.wait_for_timeout(50)
        return default
    try:
        return frame.evaluate(script)
    except PlaywrightError as error:
        if "context was destroyed" in str(error) or "detached" in str(error):
            return default
        raise


def energy(page: Any) -> float:
    return float(in_player(page, "window.spacesPlayer ? window.spacesPlayer.energy : 0", 0))


def player_state(page: Any) -> str:
    return str(in_player(page, "window.spacesPlayer ? window.spacesPlayer.state : ''", ""))


def assert_same_player_playing(page: Any, where: str) -> None:
    """The player document was never reloaded, and its inbound audio keeps growing."""
    assert in_player(page, "window.keptSince") == "listen", f"player reloaded ({where})"
    before = energy(page)
    wait_until(lambda: energy(page) > before, 10, f"inbound audio growing ({where})")
    assert player_state(page) == "playing", where


def sign_in_link_then_form(page: Any, stack: Stack, user: User, space_id: int) -> None:
    """Follow as a visitor: the sign-in page, a wrong password, then the right one."""
    page.locator("main").get_by_role("link", name="Follow @alice").click()
    page.wait_for_url(f"{stack.portal}/account/signin?next=/spaces/{space_id}")
    # The sign-in page brings a stylesheet of its own.
    assert page.evaluate("[...document.styleSheets].some(s => s.href.endsWith('/host.css'))")
    assert_same_player_playing(page, "sign-in page")
    page.fill("#email", user.email)
    page.fill("#password", "not the password")
    page.get_by_role("button", name="Sign in").click()
    # Answered 400 with the form and its error: swapped in, focus on the wrong field.
    page.locator("#password-error").wait_for()
    assert page.evaluate("document.activeElement.id") == "password"
    assert_same_player_playing(page, "sign-in error")
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{stack.portal}/spaces/{space_id}")
    page.locator("#account-nav").get_by_role("button", name="Sign out").wait_for()
    assert_same_player_playing(page, "signed in")


def follow_and_search(page: Any, stack: Stack, space_id: int) -> None:
    """A POST form that redirects, with its flash; then the GET search form."""
    page.locator("main").get_by_role("button", name="Follow @alice").click()
    page.locator("main").get_by_role("button", name="Following @alice").wait_for()
    assert "You follow @alice" in page.locator("main .flash").inner_text()
    assert page.url == f"{stack.portal}/spaces/{space_id}"
    assert page.locator("#player-dock").evaluate("d => d.classList.contains('is-expanded')")
    assert_same_player_playing(page, "after following")
    page.fill("#site-q", "tone")
    page.press("#site-q", "Enter")
    page.wait_for_url(f"{stack.portal}/search?q=tone")
    assert page.locator("main").get_by_role("link", name="Tone for the journey").first.is_visible()
    assert_same_player_playing(page, "search results")


def dashboard_looks_right(page: Any) -> None:
    """The dashboard's own stylesheets apply and its script set the page up."""
    page.get_by_role("heading", name="Your spaces", level=1).wait_for()
    panel = page.locator("main .panel").first
    assert panel.evaluate("p => getComputedStyle(p).borderTopLeftRadius") == "14px"
    assert page.locator("main .manage-grid").evaluate("g => getComputedStyle(g).display") == "grid"
    zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    wait_until(lambda: page.locator("#room-tz").input_value() == zone, 5, "host.js set up")


def sheet_disabled(page: Any, name: str) -> bool:
    return page.evaluate(
        "name => [...document.styleSheets].filter(s => s.href && s.href.endsWith(name))"
        ".every(s => s.disabled)",
        name,
    )


def make_listener(stack: Stack) -> User:
    with stack.services.catalog.session() as session:
        return create_user(
            session, "nia@example.org", PASSWORD, display_name="Nia", handle="nia", is_host=True
        )


def test_audio_survives_every_kind_of_navigation_a_reload_and_a_new_tab(
    stack: Stack, browser: Any
) -> None:
    space_id = stack.open_space("Tone for the journey")
    user = make_listener(stack)
    context = browser.new_context()
    context.add_init_script(RECORD_DOCK_STATES)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{stack.portal}/spaces/{space_id}")
    page.frame_locator(DOCK_FRAME).get_by_role("button", name="Listen").click()
    wait_until(lambda: energy(page) > 0, 20, "audio energy above zero")
    player(page).evaluate("window.keptSince = 'listen'")

    sign_in_link_then_form(page, stack, user, space_id)
    follow_and_search(page, stack, space_id)

    page.locator("#account-nav").get_by_role("link", name="Host", exact=True).click()
    page.wait_for_url(f"{stack.portal}/host/")
    dashboard_looks_right(page)
    save_screenshot(page, "host dashboard swapped in while listening")
    assert_same_player_playing(page, "host dashboard")

    page.go_back()
    page.wait_for_url(f"{stack.portal}/search?q=tone")
    page.locator("main").get_by_role("link", name="Tone for the journey").first.wait_for()
    assert sheet_disabled(page, "/manage.css"), "the dashboard's styles outlived it"
    assert_same_player_playing(page, "back")
    page.go_forward()
    page.wait_for_url(f"{stack.portal}/host/")
    dashboard_looks_right(page)
    assert not sheet_disabled(page, "/manage.css")
    assert_same_player_playing(page, "forward")

    # Signing out is a POST form in the header: the account links change with the page.
    page.locator("#account-nav").get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{stack.portal}/")
    page.locator("#account-nav").get_by_role("link", name="Sign in").wait_for()
    assert_same_player_playing(page, "signed out")
    assert problems == []

    # A reload: "Reconnecting" at once, then the same room again.
    started = time.monotonic()
    page.reload()
    wait_until(lambda: energy(page) > 0, 20, "audio after the reload")
    resumed_s = time.monotonic() - started
    states = page.evaluate("window.dockStates")
    shown = [label for _, state, label, _ in states if state == "reconnecting"]
    assert shown and shown[0] == "Reconnecting", states
    assert page.locator("#player-dock .dock-bar").is_visible()
    assert page.locator("#player-dock .dock-title").inner_text() == "Tone for the journey"
    wait_until(lambda: player_state(page) == "playing", 5, "playing after the reload")
    print(f"\nreload to audio: {resumed_s:.2f} s")
    assert resumed_s < 10

    # A new tab takes the room over; the old one stops.
    started = time.monotonic()
    other = context.new_page()
    other.goto(f"{stack.portal}/")
    wait_until(lambda: energy(other) > 0, 20, "audio in the new tab")
    print(f"new tab to audio: {time.monotonic() - started:.2f} s")
    wait_until(lambda: player_state(page) == "idle", 5, "the old tab stopping")
    assert page.locator("#player-dock .dock-state").text_content() == "In another tab"
    quiet = energy(page)
    page.wait_for_timeout(1000)
    assert energy(page) == quiet, "the old tab still plays"

    # Close forgets the room: a later tab stays quiet.
    other.locator("#player-dock .dock-close").click()
    third = context.new_page()
    third.goto(f"{stack.portal}/")
    third.wait_for_timeout(1500)
    assert third.locator("#player-dock").is_hidden()
    assert player(third) is None
    assert problems == []


def test_a_reload_on_the_space_page_reconnects_over_the_player(stack: Stack, browser: Any) -> None:
    space_id = stack.open_space("Tone to reload")
    context = browser.new_context()
    context.add_init_script(RECORD_DOCK_STATES)
    page = context.new_page()
    page.goto(f"{stack.portal}/spaces/{space_id}")
    page.frame_locator(DOCK_FRAME).get_by_role("button", name="Listen").click()
    wait_until(lambda: energy(page) > 0, 20, "audio energy above zero")

    started = time.monotonic()
    page.reload()
    wait_until(lambda: energy(page) > 0, 20, "audio after the reload")
    print(f"\nreload on the space page to audio: {time.monotonic() - started:.2f} s")
    states = page.evaluate("window.dockStates")
    # Over the expanded player, a note says what is happening until the audio is back.
    assert any(state == "reconnecting" and note for _, state, _, note in states), states
    wait_until(lambda: player_state(page) == "playing", 5, "playing after the reload")
    assert page.locator("#player-dock").evaluate("d => d.classList.contains('is-expanded')")
    assert page.locator("#player-dock .dock-resume").is_hidden()

    # Leaving in the player forgets the room: the next reload stays quiet.
    page.frame_locator(DOCK_FRAME).get_by_role("button", name="Leave").click()
    wait_until(lambda: player_state(page) == "idle", 5, "stopping")
    page.reload()
    page.wait_for_timeout(1500)
    assert player_state(page) == "idle"
    assert energy(page) == 0
