"""An admin in a real Chromium adds sources of the new kinds and sees failing ones first."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.catalog.sources import add_source, record_source_run
from core.timeutil import utcnow
from tests.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    launch_chromium,
    save_screenshot,
    wait_until,
)
from tests.portal.hosting.conftest import base_url, browser_sign_in

__all__ = ["base_url"]

pytestmark = pytest.mark.browser

REASON = "Reason (shown in the audit log)"


def _sources_in_order(page) -> list[str]:
    return [text.strip() for text in page.locator(".queue-list > li strong").all_inner_texts()]


def test_admin_adds_new_kinds_and_sees_the_failing_source_first(
    base_url, services, make_user
) -> None:
    now = utcnow()
    with services.catalog.session() as session:
        fine = add_source(session, "https://fine.example/spaces", now=now - timedelta(hours=1))
        failing = add_source(session, "https://down.example/feed.xml", kind="feed")
        record_source_run(session, fine.id, pages=3, spaces=1, errors=0, duration_s=0.4, now=now)
        for minutes in (3, 2, 1):
            record_source_run(
                session,
                failing.id,
                pages=0,
                spaces=0,
                errors=1,
                duration_s=0.2,
                error="HTTP 503",
                reason="http_5xx",
                status=503,
                now=now - timedelta(minutes=minutes),
            )
    admin = make_user(is_admin=True, display_name="Ada")
    with launch_chromium() as browser:
        page = browser.new_page(viewport=DESKTOP)
        browser_sign_in(page, base_url, admin, "/admin/sources")
        first = page.locator(".queue-list > li").first
        assert "https://down.example/feed.xml" in first.inner_text()
        health = first.locator(".source-health").inner_text()
        assert "Failing: the server failed to answer (HTTP 5xx)" in health
        assert "(3 times in a row)" in health and "Last status: HTTP 503." in health

        # A Mastodon tag: its kind recognised from the address.
        form = page.locator("#add-source")
        form.get_by_label("Address").fill("https://mastodon.example/tags/livespaces")
        form.get_by_label("Every (seconds)").fill("120")
        form.get_by_label(REASON).fill("hashtag where rooms are shared")
        form.get_by_role("button", name="Add source").click()
        page.locator("html[aria-busy]").wait_for(state="detached")
        wait_until(
            lambda: "Done:" in (page.locator(".flash").first.text_content() or ""), 10, "flash"
        )
        added = page.locator("li", has_text="https://mastodon.example/tags/livespaces")
        assert "mastodon, every 120 s" in added.inner_text()
        assert "Not read yet." in added.inner_text()

        # An X Spaces search: chosen by kind, named by its query alone.
        form = page.locator("#add-source")
        form.get_by_label("Kind").select_option(label="X Spaces search")
        form.get_by_label("Query (searches and relays)").fill("live audio")
        form.get_by_label(REASON).fill("X's own search")
        form.get_by_role("button", name="Add source").click()
        page.locator("html[aria-busy]").wait_for(state="detached")
        wait_until(lambda: page.locator("li", has_text="xsearch").count(), 10, "the search")
        assert "query “live audio”" in page.locator("li", has_text="xsearch").inner_text()

        # A relay address is not a page: refused with the reason, what was typed kept.
        form = page.locator("#add-source")
        form.get_by_label("Kind").select_option(label="Page")
        form.get_by_label("Address").fill("wss://relay.example")
        form.get_by_label("Query (searches and relays)").fill("audio")
        form.get_by_label(REASON).fill("a relay")
        form.get_by_role("button", name="Add source").click()
        page.locator("html[aria-busy]").wait_for(state="detached")
        wait_until(
            lambda: "Not done" in (page.locator(".flash").first.text_content() or ""),
            10,
            "the refusal",
        )
        assert "is not a page source address" in page.locator("#add-source").inner_text()
        assert page.locator("#add-source-query").input_value() == "audio"

        order = _sources_in_order(page)
        assert order[0] == "https://down.example/feed.xml"
        assert order.index("https://fine.example/spaces") > 0
        problems = []
        for viewport in (PHONE, DESKTOP):
            page.set_viewport_size(viewport)
            page.goto(f"{base_url}/admin/sources")
            save_screenshot(page, f"admin sources health {viewport['width']}")
            if overflow := horizontal_overflow(page):
                problems.append(f"at {viewport['width']} px: {overflow} px sideways")
            problems += [f"at {viewport['width']} px: {v}" for v in axe_violations(page)]
        assert problems == []
