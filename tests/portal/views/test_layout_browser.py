"""Every portal page on a phone and a desktop, light and dark, in a real Chromium.

Each page must not scroll sideways, must keep the header short on the phone, and must
pass axe-core's serious and critical rules (contrast included) in both colour schemes.
Then the two things a phone user does most: open the menu with the keyboard to reach
"Sign out", and search, see the first result without scrolling and open the filters.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from core.catalog.follows import follow
from core.catalog.models import Space
from core.catalog.records import Observation, SpaceRecord
from core.catalog.reminders import remind
from core.catalog.saved_searches import save_search
from core.catalog.spaces import record_observation, upsert_space
from core.catalog.states import State
from core.services import Services
from tests.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    launch_chromium,
    save_screenshot,
    serve,
)
from tests.portal.accounts.helpers import PASSWORD, make_user
from tests.portal.views.conftest import ROOMS

pytestmark = pytest.mark.browser

EMAIL = "nia.with.a.rather.long.address.that.goes.on.and.on.and.on@example.org"
HEADER_MAX_PX = 64
# Long unbroken words and addresses, as crawled titles and descriptions can carry.
LONG_WORD = "Supercalifragilisticexpialidocious" * 3
LONG_URL = "https://example.org/" + "very-long-path-segment-without-spaces" * 4
LONG_TOPIC = "averyveryverylongtopicnamewithoutanybrea"  # 40: the longest a topic is kept


@dataclass
class Catalog:
    """What the seeded catalog holds, by the names the pages are reached with."""

    live: int
    scheduled: int
    ended: int
    handle: str


def _seed(services: Services, make_space: Callable[..., int], now: datetime) -> Catalog:
    """Live, scheduled and ended spaces with long titles, a host, and a member's things."""
    handle = "nightowl"
    live = make_space(
        platform="x",
        title=f"Live jazz and {LONG_WORD} talk",
        description=f"Notes at {LONG_URL} and more {LONG_WORD}",
        topics=["jazz", LONG_TOPIC],
        lang="en",
        listener_count=1234,
        speaker_count=5,
        host_handle=handle,
        host_name=f"Night Owl {LONG_WORD}",
        checked=now,
        shared_on=(LONG_URL,),
    )
    for n in range(3):
        make_space(title=f"Jazz session {n} {LONG_WORD}", topics=["jazz"], checked=now, lang="fr")
    scheduled = make_space(
        title=f"Tomorrow's jazz {LONG_WORD}",
        description=LONG_URL,
        state=State.SCHEDULED,
        scheduled_start=now + timedelta(hours=20),
        topics=["jazz", LONG_TOPIC],
        host_handle=handle,
        host_name=f"Night Owl {LONG_WORD}",
    )
    ended = make_space(
        title=f"Yesterday's jazz {LONG_WORD}",
        state=State.ENDED,
        ended_at=now - timedelta(hours=3),
        topics=["jazz"],
    )
    user_id = make_user(services, EMAIL, host=True, admin=True)
    with services.catalog.session() as session:
        follow(session, user_id, "latebird")
        remind(session, user_id, scheduled)
        save_search(session, user_id, f"jazz {LONG_WORD}", topic="jazz")
        space = upsert_space(
            session,
            SpaceRecord(
                url=f"{ROOMS}/s/latebird",
                platform="rooms",
                title=f"Late bird {LONG_WORD}",
                state=State.SCHEDULED,
                host_handle="latebird",
                host_name="Late Bird",
            ),
        )
    # The followed host goes live, as a liveness check records it: one unread notice.
    with services.catalog.session() as session:
        going_live = session.get(Space, space.id)
        assert going_live is not None
        record_observation(session, going_live, Observation(state=State.LIVE, listener_count=3))
    return Catalog(live=live, scheduled=scheduled, ended=ended, handle=handle)


@dataclass
class Site:
    base: str
    catalog: Catalog


@pytest.fixture
def site(
    app: Flask, services: Services, make_space: Callable[..., int], now: datetime
) -> Iterator[Site]:
    catalog = _seed(services, make_space, now)
    with serve(app) as base:
        yield Site(base, catalog)


@pytest.fixture
def chromium() -> Iterator[Any]:
    with launch_chromium() as browser:
        yield browser


def _sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/account/signin")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base}/")


def wait_until(page: Any, script: str, timeout_s: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy (the CSP forbids string functions)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(script):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout_s} s: {script}")
        time.sleep(0.05)


def _header_height(page: Any) -> float:
    return float(page.evaluate("document.querySelector('.site-header').offsetHeight"))


def _check(page: Any, name: str) -> list[str]:
    """Check the page at the current viewport and scheme; describe each problem."""
    problems: list[str] = []
    size = page.viewport_size
    # Fonts and late layout settle before measuring.
    page.evaluate("document.fonts.ready.then(() => true)")
    overflow = horizontal_overflow(page)
    if overflow:
        problems.append(f"{name}: {overflow} px wider than the {size['width']} px screen")
    if size["width"] == PHONE["width"] and _header_height(page) > HEADER_MAX_PX:
        problems.append(f"{name}: the header is {_header_height(page)} px tall on a phone")
    problems += [f"{name}: {v}" for v in axe_violations(page)]
    save_screenshot(page, name)
    return problems


def _visit_everywhere(browser: Any, base: str, path: str, label: str, signed_in: bool) -> None:
    """Load `path` at phone and desktop sizes, light and dark; fail listing every problem."""
    context = browser.new_context(viewport=PHONE)
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        if signed_in:
            _sign_in(page, base)
        problems: list[str] = []
        for viewport, device in ((PHONE, "phone"), (DESKTOP, "desktop")):
            page.set_viewport_size(viewport)
            for scheme in ("light", "dark"):
                page.emulate_media(color_scheme=scheme)
                response = page.goto(base + path)
                expected = 404 if label == "not-found" else 200
                if response is None or response.status != expected:
                    status = response.status if response else "no response"
                    problems.append(f"{label}: HTTP {status}, expected {expected}")
                problems += _check(page, f"{label} {device} {scheme}")
        assert problems == [], "\n".join(problems)
        assert errors == []
    finally:
        context.close()


PUBLIC = [
    pytest.param("home", "/", id="home"),
    pytest.param("search", "/search?q=jazz", id="search"),
    pytest.param("search-filtered", "/search?q=jazz&state=live&topic=jazz", id="search-filtered"),
    pytest.param("search-empty", "/search?q=nothingmatchesthis", id="search-empty"),
    pytest.param("search-all", "/search", id="search-all"),
    pytest.param("topic", f"/topics/{LONG_TOPIC}", id="topic"),
    pytest.param("host", "/hosts/nightowl", id="host"),
    pytest.param("signin", "/account/signin", id="signin"),
    pytest.param("signup", "/account/signup", id="signup"),
    pytest.param("not-found", "/spaces/999999", id="not-found"),
]

SIGNED_IN = [
    pytest.param("member-home", "/", id="member-home"),
    pytest.param("member-search", "/search?q=jazz", id="member-search"),
    pytest.param("your-spaces", "/me/", id="your-spaces"),
    pytest.param("notifications", "/me/notifications", id="notifications"),
    pytest.param("password", "/account/password", id="password"),
    pytest.param("member-host", "/hosts/nightowl", id="member-host"),
]


@pytest.mark.parametrize(("label", "path"), PUBLIC)
def test_public_pages_fit_phones_and_pass_axe(
    chromium: Any, site: Site, label: str, path: str
) -> None:
    _visit_everywhere(chromium, site.base, path, label, signed_in=False)


@pytest.mark.parametrize(("label", "path"), SIGNED_IN)
def test_signed_in_pages_fit_phones_and_pass_axe(
    chromium: Any, site: Site, label: str, path: str
) -> None:
    _visit_everywhere(chromium, site.base, path, label, signed_in=True)


@pytest.mark.parametrize(
    ("label", "kind", "signed_in"),
    [
        pytest.param("space-live", "live", False, id="space-live"),
        pytest.param("space-scheduled", "scheduled", True, id="space-scheduled"),
        pytest.param("space-ended", "ended", False, id="space-ended"),
        pytest.param("report", "report", True, id="report"),
    ],
)
def test_space_pages_fit_phones_and_pass_axe(
    chromium: Any, site: Site, label: str, kind: str, signed_in: bool
) -> None:
    catalog = site.catalog
    path = {
        "live": f"/spaces/{catalog.live}",
        "scheduled": f"/spaces/{catalog.scheduled}",
        "ended": f"/spaces/{catalog.ended}",
        "report": f"/spaces/{catalog.live}/report",
    }[kind]
    _visit_everywhere(chromium, site.base, path, label, signed_in=signed_in)


@pytest.mark.parametrize(
    ("label", "path"),
    [
        pytest.param("host-dashboard", "/host/", id="host-dashboard"),
        # Every admin page, with its dialogs, is checked the same way in
        # tests/portal/admin/test_browser.py.
    ],
)
def test_host_and_admin_pages_fit_phones_and_pass_axe(
    chromium: Any, site: Site, label: str, path: str
) -> None:
    _visit_everywhere(chromium, site.base, path, label, signed_in=True)


def test_phone_menu_opens_with_the_keyboard_and_reaches_sign_out(chromium: Any, site: Site) -> None:
    page = chromium.new_page(viewport=PHONE)
    _sign_in(page, site.base)
    menu = page.get_by_role("button", name="Menu")
    # The unread notice shows on the button itself, so it is seen with the menu shut.
    assert menu.locator(".count").inner_text() == "1"
    assert "1 unread" in (menu.text_content() or "")
    sign_out = page.get_by_role("button", name="Sign out")
    assert not sign_out.is_visible()
    assert _header_height(page) <= HEADER_MAX_PX

    # Tab from the search field to the menu button, open it with Enter.
    page.locator("#site-q").focus()
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('menu-button')"):
            break
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")
    page.keyboard.press("Enter")
    assert menu.get_attribute("aria-expanded") == "true"
    for name in ("Live now", "Upcoming", "Trending", "Your spaces", "Host", "Admin"):
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    assert page.get_by_role("link", name="Notifications").is_visible()
    assert horizontal_overflow(page) == 0

    # Escape closes it and gives the focus back to the button.
    page.keyboard.press("Tab")
    page.keyboard.press("Escape")
    assert menu.get_attribute("aria-expanded") == "false"
    assert not sign_out.is_visible()
    assert page.evaluate("document.activeElement.classList.contains('menu-button')")

    # Open it with Space this time and tab through to "Sign out".
    page.keyboard.press(" ")
    assert menu.get_attribute("aria-expanded") == "true"
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim() === 'Sign out'"):
            break
    assert page.evaluate("document.activeElement.textContent.trim() === 'Sign out'")
    assert sign_out.is_visible()
    save_screenshot(page, "menu open phone", full_page=False)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{site.base}/")
    page.get_by_role("button", name="Menu").click()
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_desktop_header_shows_the_links_inline(chromium: Any, site: Site) -> None:
    page = chromium.new_page(viewport=DESKTOP)
    _sign_in(page, site.base)
    assert not page.get_by_role("button", name="Menu").is_visible()
    for name in ("Live now", "Your spaces", "Host", "Admin"):
        assert page.get_by_role("link", name=name, exact=True).is_visible(), name
    assert page.get_by_role("button", name="Sign out").is_visible()


def test_phone_search_shows_results_first_and_filters_in_a_drawer(
    chromium: Any, site: Site
) -> None:
    page = chromium.new_page(viewport=PHONE)
    page.goto(site.base + "/")
    # Search as a person does: type in the header's field and press Enter.
    page.locator("#site-q").fill("jazz")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search?q=jazz")
    page.get_by_role("heading", name="Spaces matching").wait_for()
    first = page.locator(".results .card-title").first
    box = first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box
    filters = page.get_by_role("button", name="Filters")
    assert filters.get_attribute("aria-expanded") == "false"
    state_facet = page.get_by_role("heading", name="State")
    assert not state_facet.is_visible()
    filters.click()
    assert filters.get_attribute("aria-expanded") == "true"
    assert state_facet.is_visible()
    assert page.get_by_label("Sort by").is_visible()
    assert horizontal_overflow(page) == 0
    save_screenshot(page, "search filters open phone", full_page=False)

    # Choosing a filter brings the results back first, and the button counts it.
    page.locator(".filters .facet-link", has_text="live").click()
    wait_until(page, "location.search.includes('state=live')")
    page.get_by_role("link", name="state: live").wait_for()
    filters = page.get_by_role("button", name="Filters")
    assert filters.locator(".filter-count").inner_text() == "1"
    assert "1 active" in (filters.text_content() or "")
    assert not page.get_by_role("heading", name="State").is_visible()
    box = page.locator(".results .card-title").first.bounding_box()
    assert box is not None and box["y"] + box["height"] <= PHONE["height"], box

    # Escape inside the drawer closes it and returns to the button.
    filters.click()
    page.get_by_label("Sort by").focus()
    page.keyboard.press("Escape")
    assert filters.get_attribute("aria-expanded") == "false"
    assert page.evaluate("document.activeElement.classList.contains('filters-toggle')")


def test_desktop_search_keeps_filters_in_a_side_column(chromium: Any, site: Site) -> None:
    page = chromium.new_page(viewport=DESKTOP)
    page.goto(site.base + "/search?q=jazz")
    assert not page.get_by_role("button", name="Filters").is_visible()
    assert page.get_by_role("heading", name="State").is_visible()
    facets = page.locator(".filters").bounding_box()
    results = page.locator(".results").bounding_box()
    assert facets and results and facets["x"] + facets["width"] <= results["x"]


def test_without_scripts_the_menu_links_are_in_the_footer(chromium: Any, site: Site) -> None:
    context = chromium.new_context(viewport=PHONE, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site.base + "/search?q=jazz")
        assert not page.get_by_role("button", name="Menu").is_visible()
        assert _header_height(page) <= HEADER_MAX_PX
        footer = page.locator("footer")
        for name in ("Live now", "Upcoming", "Trending", "Sign in", "Create account"):
            assert footer.get_by_role("link", name=name, exact=True).is_visible(), name
        # The filters follow the results instead of hiding in a drawer.
        assert page.get_by_role("heading", name="State").is_visible()
        facets = page.locator(".filters").bounding_box()
        results = page.locator(".results").bounding_box()
        assert facets and results and facets["y"] > results["y"]
        assert horizontal_overflow(page) == 0
    finally:
        context.close()
