"""The player keeps playing, minimized to a bar, while the listener browses the portal.

A real room server with a host sending a tone, the portal on loopback, and Chromium:
press Listen on a space page, move around the portal by links, the search form and
Back, and check that the very same iframe element keeps receiving audio.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.browser import browser, chromium, wait_until
from tests.portal.player.conftest import Stack

__all__ = ["browser", "chromium"]

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCK_FRAME = "#player-dock iframe.player"
TAG = "document.querySelector('#player-dock iframe').spacesTag"


def player(page: Any) -> Any:
    """Return the room server's player frame inside the portal page."""
    return next(frame for frame in page.frames if frame.url.endswith("/embed"))


def energy(page: Any) -> float:
    """Inbound audio energy so far; 0 while the player frame is between documents."""
    try:
        return player(page).evaluate("window.spacesPlayer ? window.spacesPlayer.energy : 0")
    except StopIteration:
        return 0.0
    except PlaywrightError as error:
        if "context was destroyed" in str(error):
            return 0.0
        raise


def player_url(page: Any) -> str:
    """Return the address of the player frame's document, "" while it has none."""
    # Frames and their addresses are kept up to date only while Playwright is called;
    # a short wait lets it take in the navigations that happened meanwhile.
    page.wait_for_timeout(50)
    return next((frame.url for frame in page.frames if frame.url.endswith("/embed")), "")


def assert_still_playing(page: Any) -> None:
    """The tagged iframe is the one in the dock, and its inbound audio keeps growing."""
    assert page.evaluate(TAG) == "first", "the player iframe was replaced or reloaded"
    before = energy(page)
    wait_until(lambda: energy(page) > before, 10, "inbound audio energy growing")
    assert player(page).evaluate("window.spacesPlayer.state") == "playing"


def watch_errors(page: Any) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    return problems


def test_audio_survives_browsing_and_the_bar_stops_it(stack: Stack, browser: Any) -> None:
    space_id = stack.open_space("Tone for the dock")
    # Short enough that the home page scrolls, to check scroll restoration.
    page = browser.new_page(viewport={"width": 900, "height": 420})
    problems = watch_errors(page)
    page.goto(f"{stack.portal}/spaces/{space_id}")
    page.frame_locator(DOCK_FRAME).get_by_role("button", name="Listen").click()
    wait_until(lambda: energy(page) > 0, 20, "audio energy above zero")
    page.evaluate("document.querySelector('#player-dock iframe').spacesTag = 'first'")
    assert page.locator("#player-dock").evaluate("d => d.classList.contains('is-expanded')")

    # A link: the home page, with the player minimized to the bar.
    page.locator("a.brand").click()
    page.wait_for_url(f"{stack.portal}/")
    assert page.locator("#player-dock .dock-bar").is_visible()
    assert page.evaluate("document.activeElement.tagName") == "H1"
    assert "Live audio spaces" in page.title()
    assert_still_playing(page)
    page.evaluate("window.scrollTo(0, 120)")
    page.wait_for_timeout(400)  # nav.js records the position once scrolling settles
    scrolled = page.evaluate("window.scrollY")
    assert scrolled > 0

    # The search form: results come in without a page load.
    page.fill("#site-q", "dock")
    page.press("#site-q", "Enter")
    page.wait_for_url(f"{stack.portal}/search?q=dock")
    result = page.locator("main").get_by_role("link", name="Tone for the dock")
    assert result.first.is_visible()
    assert_still_playing(page)

    # Back to the home page, and forward again.
    page.go_back()
    page.wait_for_url(f"{stack.portal}/")
    assert page.locator("main .hero, main h1").first.is_visible()
    wait_until(lambda: page.evaluate("window.scrollY") == scrolled, 5, "scroll restored")
    assert_still_playing(page)
    page.go_forward()
    page.wait_for_url(f"{stack.portal}/search?q=dock")
    assert_still_playing(page)

    # The bar is keyboard operable: Tab from the title reaches Stop; Enter stops.
    bar = page.locator("#player-dock .dock-bar")
    assert "Tone for the dock" in bar.inner_text()
    bar.locator(".dock-title").focus()
    page.keyboard.press("Tab")
    stop = page.get_by_role("button", name="Stop Tone for the dock")
    assert stop.evaluate("b => b === document.activeElement")
    page.keyboard.press("Enter")
    wait_until(lambda: player(page).evaluate("window.spacesPlayer.state") == "idle", 5, "stopping")
    stopped = energy(page)
    page.wait_for_timeout(1200)
    assert energy(page) == stopped, "audio went on after Stop"
    announced = page.locator("[data-dock-announce]")
    assert announced.get_attribute("aria-live") == "polite"
    assert "Stopped" in announced.inner_text()
    assert problems == []


def test_another_space_page_offers_to_switch(stack: Stack, browser: Any) -> None:
    first = stack.open_space("First tone")
    second = stack.open_space("Second tone", tone_hz=660.0)
    page = browser.new_page()
    problems = watch_errors(page)
    page.goto(f"{stack.portal}/spaces/{first}")
    page.frame_locator(DOCK_FRAME).get_by_role("button", name="Listen").click()
    wait_until(lambda: energy(page) > 0, 20, "audio energy above zero")
    page.evaluate("document.querySelector('#player-dock iframe').spacesTag = 'first'")

    page.fill("#site-q", "second")
    page.press("#site-q", "Enter")
    page.wait_for_url(f"{stack.portal}/search?q=second")
    page.locator("main").get_by_role("link", name="Second tone").first.click()
    page.wait_for_url(f"{stack.portal}/spaces/{second}")
    # The first space plays on in the bar; this page offers the switch.
    assert_still_playing(page)
    assert page.locator("#player-dock .dock-bar").is_visible()
    assert "First tone" in page.locator("[data-slot-offer]").inner_text()

    first_url = player_url(page)
    page.get_by_role("button", name="Listen to this instead").click()
    wait_until(lambda: player_url(page) not in ("", first_url), 20, "the player moving on")
    wait_until(lambda: energy(page) > 0, 20, "audio from the second space")
    assert page.evaluate(TAG) == "first", "the dock's iframe must be reused, not replaced"
    assert page.locator("#player-dock").evaluate("d => d.classList.contains('is-expanded')")
    assert page.locator("#player-dock .dock-title").inner_text() == "Second tone"

    # Minimize on the space page itself, then expand again from the slot.
    page.get_by_role("button", name="Minimize player").click()
    assert page.locator("#player-dock .dock-bar").is_visible()
    expand = page.get_by_role("button", name="Expand player")
    assert expand.evaluate("b => b === document.activeElement")
    page.keyboard.press("Enter")
    assert not page.locator("#player-dock .dock-bar").is_visible()
    assert_still_playing(page)
    assert problems == []


def test_without_javascript_pages_load_as_before(stack: Stack, browser: Any) -> None:
    space_id = stack.open_space("Plain tone")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{stack.portal}/spaces/{space_id}")
    # The plain embed sits in the page, and the dock stays out of the way.
    frame = page.locator("main iframe.player")
    assert frame.get_attribute("src").endswith("/embed")
    assert frame.is_visible()
    assert not page.locator("#player-dock").is_visible()
    page.locator("a.brand").click()
    page.wait_for_url(f"{stack.portal}/")
    page.fill("#site-q", "plain")
    page.press("#site-q", "Enter")
    page.wait_for_url(f"{stack.portal}/search?q=plain")
    page.locator("main").get_by_role("link", name="Plain tone").first.click()
    page.wait_for_url(f"{stack.portal}/spaces/{space_id}")
    assert page.locator("main iframe.player").is_visible()
    context.close()
