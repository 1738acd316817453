"""Edges a person meets in the browser: a search of only emoji, a link to no space."""

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


def test_searching_for_an_emoji_says_to_type_words(base_url, make_space, now, browser) -> None:
    make_space(title="Jazz morning", checked=now)
    page = browser.new_page()
    page.goto(base_url + "/")
    page.fill("#site-q", "🎷")
    page.press("#site-q", "Enter")
    page.wait_for_url("**/search?q=*")
    alert = page.get_by_role("alert")
    assert "no letters or digits to look for" in alert.text_content()
    assert "Jazz morning" not in page.content()  # nothing listed as if it matched
    page.fill("#site-q", "🎷 jazz")
    page.press("#site-q", "Enter")
    page.get_by_role("link", name="Jazz morning").first.wait_for()
    assert "no letters or digits" not in page.content()


def test_a_link_to_a_space_number_out_of_range_is_not_found(base_url, browser) -> None:
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    response = page.goto(base_url + "/spaces/99999999999999999999999")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", level=1).text_content().strip() == "Not found"
    page.get_by_role("link", name="See what is live").click()
    page.wait_for_url(base_url + "/")
    assert not [p for p in problems if "Content Security Policy" in p], problems
