"""The search box's typeahead and the page scripts, in a real Chromium, under the real CSP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.browser import browser, chromium, serve

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser


@pytest.fixture
def base_url(app: Flask) -> Iterator[str]:
    with serve(app) as url:
        yield url


def test_typeahead_is_a_keyboard_combobox(base_url, make_space, now, browser) -> None:
    make_space(title="Jazz morning", checked=now)
    make_space(title="Jazz evening", checked=now)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(base_url + "/")
    box = page.locator("#site-q")
    assert box.get_attribute("role") == "combobox"
    assert box.get_attribute("aria-expanded") == "false"
    box.press_sequentially("jaz")
    options = page.locator("#site-q-suggestions [role=option]")
    options.first.wait_for()
    assert box.get_attribute("aria-expanded") == "true"
    assert sorted(options.all_text_contents()) == ["Jazz evening", "Jazz morning"]
    box.press("ArrowDown")
    active = box.get_attribute("aria-activedescendant")
    assert active and page.locator(f"#{active}").get_attribute("aria-selected") == "true"
    chosen = page.locator(f"#{active}").text_content()
    box.press("Enter")
    page.wait_for_url("**/search?q=*")
    assert page.locator("h1").text_content().strip() == f"Spaces matching \u201c{chosen}\u201d"
    box = page.locator("#site-q")
    box.fill("")
    box.press_sequentially("jaz")
    page.locator("#site-q-suggestions [role=option]").first.wait_for()
    box.press("Escape")
    assert box.get_attribute("aria-expanded") == "false"
    # Nothing on these pages breaks the CSP or throws.
    assert problems == []


def test_space_page_scripts_run_under_the_csp(base_url, make_space, now, browser) -> None:
    space_id = make_space(platform="x", title="On X", checked=now)
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(f"{base_url}/spaces/{space_id}")
    # The copy button is hidden in the HTML and shown by the script.
    assert page.locator("button[data-copy='#share-link']").is_visible()
    assert page.locator(".badge-live").text_content() == "LIVE"
    assert problems == []
