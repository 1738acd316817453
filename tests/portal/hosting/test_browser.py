"""A host signs in, opens a room on a real room server and sees its share link (Chromium)."""

from __future__ import annotations

import pytest

from tests.browser import launch_chromium
from tests.portal.hosting.conftest import browser_sign_in

pytestmark = pytest.mark.browser


def test_host_opens_a_room_and_sees_its_share_link(base_url, make_user, rooms_server) -> None:
    user = make_user(is_host=True, display_name="Browser Host")
    with launch_chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        browser_sign_in(page, base_url, user, "/host/")
        assert page.get_by_role("link", name="Host", exact=True).count() == 1
        page.fill("#room-title", "Browser-opened room")
        page.fill("#room-topics", "testing")
        page.click("#open button[type=submit]")
        page.wait_for_url(f"{base_url}/host/rooms/*")
        link = page.locator("#share-link").input_value()
        assert link.startswith(f"{rooms_server.url}/s/")
        assert link in page.locator("#share-text").input_value()
        go = page.locator("a", has_text="Go to your room")
        assert go.first.get_attribute("href").endswith("/go")
        # The room's public page answers at the share link.
        assert page.request.get(link).status == 200
        assert problems == []
