"""Hosts in Chromium: change their handle, schedule in their own time zone, promote links
and see what was found without reloading; the pages fit a phone and pass axe-core."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from core.catalog.models import HostedRoom, User
from core.config import Config
from core.queues import CRAWL_NOW
from core.services import Services
from tests.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    browser,
    chromium,
    horizontal_overflow,
    wait_until,
)
from tests.portal.hosting.conftest import browser_sign_in
from tests.worker.conftest import StatusServer
from tests.worker.test_liveness import event_page
from worker import context
from worker.run import run_worker

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser


@pytest.fixture
def config(config: Config) -> Config:
    # The crawler may fetch the test's own pages on loopback.
    return config.with_(crawl_allow=("127.0.0.1",))


@pytest.fixture
def pages() -> Iterator[StatusServer]:
    server = StatusServer("127.0.0.1").start()
    yield server
    server.stop()


def _focused(page) -> str:
    try:
        return page.evaluate("document.activeElement && document.activeElement.id") or ""
    except PlaywrightError:  # the page is still being replaced: nothing has focus yet
        return ""


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    height = page.viewport_size["height"]
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height


def _work(services: Services) -> None:
    """Run the worker over the crawl-now queue until it is empty, as `spaces worker` would."""
    context.install(services)
    try:
        run_worker(services.config, [CRAWL_NOW], scheduler=False, burst=True)
    finally:
        context.reset()


def test_a_host_changes_handle_and_a_taken_one_is_refused_beside_the_field(
    base_url,
    make_user,
    services,
    browser,
) -> None:
    make_user(display_name="Someone Else", email="else@example.org")  # @someone_else
    host = make_user(is_host=True, display_name="Ann Lee")
    page = browser.new_page(viewport=PHONE)
    browser_sign_in(page, base_url, host, "/host/")
    assert "@ann_lee" in page.locator("main").inner_text()
    page.get_by_role("link", name="Change your name or handle").click()
    # The dashboard has a handle field of its own (claims): wait for the settings.
    page.wait_for_url(f"{base_url}/account/settings")
    page.get_by_role("heading", name="Your name and handle").wait_for()
    handle = page.get_by_role("textbox", name=re.compile("^Handle"))
    handle.fill("Someone_Else")
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "@someone_else is taken" in page.locator("#handle-error").inner_text()
    assert handle.input_value() == "Someone_Else"
    assert handle.get_attribute("aria-describedby") == "handle-error"
    assert _focused(page) == "handle" and _in_view(page, "#handle-error")

    handle.fill("ann_sings")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(f"{base_url}/account/settings")
    assert "You are @ann_sings now." in page.locator(".flash").inner_text()
    page.goto(f"{base_url}/host/")
    assert "@ann_sings" in page.locator("main").inner_text()
    with services.catalog.sessions() as session:
        assert session.scalars(select(User.handle).where(User.id == host.id)).one() == "ann_sings"


def test_a_host_schedules_in_their_time_zone(
    base_url, make_user, services, rooms_server, browser
) -> None:
    host = make_user(is_host=True, display_name="Bia")
    context_ = browser.new_context(
        timezone_id="America/Sao_Paulo", locale="pt-BR", viewport=DESKTOP
    )
    page = context_.new_page()
    browser_sign_in(page, base_url, host, "/host/")
    assert page.locator("#room-tz").input_value() == "America/Sao_Paulo"
    assert "America/Sao_Paulo" in page.locator("#room-zone-note").inner_text()
    assert page.locator("#room-lang").input_value() == "pt", "the browser's language"
    page.fill("#room-title", "Noite de samba")
    page.get_by_label("Schedule for").check()
    page.fill("#room-start", "2099-07-01T20:30")
    page.get_by_role("button", name="Open room").click()
    page.wait_for_url(f"{base_url}/host/rooms/*")
    # 20:30 in São Paulo (UTC-3) is 23:30 UTC; the page shows it back in local time.
    shown = page.locator("#room-when").inner_text()
    assert "20:30" in shown and "23:30" not in shown, shown
    context_.close()
    with services.catalog.sessions() as session:
        room = session.scalars(select(HostedRoom)).one()
    assert room.scheduled_start == datetime(2099, 7, 1, 23, 30, tzinfo=UTC)


def test_a_promoted_link_shows_what_was_found_without_reloading(
    base_url,
    make_user,
    services,
    pages,
    browser,
) -> None:
    pages.pages["plain"] = "<html><head><title>Hello</title></head><body>Hi</body></html>"
    pages.pages["sp1"] = event_page("sp1", "/api/rooms/sp1", live=True).replace(
        '"@type": "BroadcastEvent",', '"@type": "BroadcastEvent", "organizer": {"name": "Ella"},'
    )
    host = make_user(is_host=True)
    allowed = dataclasses.replace(services)  # the worker's own handle on the same services
    page = browser.new_page(viewport=PHONE)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    browser_sign_in(page, base_url, host, "/host/")

    def promote(url: str) -> Any:
        page.get_by_role("textbox", name="Space link").fill(url)
        with page.expect_navigation():
            page.get_by_role("button", name="Submit link").click()
        item = page.locator(".outcome").first
        assert url in item.inner_text()
        assert "Checking this link" in item.inner_text()
        page.evaluate("window.stillThisPage = true")  # gone if the page reloads
        _work(allowed)
        return item

    item = promote(f"{pages.base}/s/plain")
    wait_until(lambda: "Found nothing at this address" in item.inner_text(), 20, "the outcome")
    assert page.evaluate("window.stillThisPage === true")

    item = promote(f"{pages.base}/s/sp1")
    wait_until(lambda: "Found 1 space" in item.inner_text(), 20, "the found space")
    assert page.evaluate("window.stillThisPage === true")
    link = item.get_by_role("link", name="Page sp1")
    assert link.get_attribute("href").startswith("/spaces/")
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []
    assert problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_host_pages_fit_a_phone_and_pass_axe(
    base_url,
    make_user,
    rooms_server,
    scheme: str,
    browser: Any,
) -> None:
    host = make_user(is_host=True, display_name="Phone Host")
    page = browser.new_page(viewport=PHONE, color_scheme=scheme)
    browser_sign_in(page, base_url, host, "/host/")
    page.fill("#room-title", "A room with a rather long title to wrap on a small phone")
    page.get_by_role("button", name="Open room").click()
    page.wait_for_url(f"{base_url}/host/rooms/*")
    room_page = page.url
    for url in (room_page, f"{base_url}/host/"):
        page.goto(url)
        assert horizontal_overflow(page) == 0, url
        assert axe_violations(page) == [], url
    # A form error scrolls to its field, not to the top of the page.
    page.get_by_label("Schedule for").check()
    page.fill("#room-title", "Later")
    page.fill("#room-start", "2001-01-01T10:00")
    with page.expect_navigation():
        page.get_by_role("button", name="Open room").click()
    page.wait_for_load_state("load")
    # The page's script moves the focus once it has run: on a busy machine, a moment later.
    wait_until(lambda: _focused(page) == "room-start", 10, "focus on the field in error")
    assert _in_view(page, "#room-start-error")
    assert "has passed" in page.locator("#room-start-error").inner_text()
    assert page.locator("#room-title").input_value() == "Later"
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []
