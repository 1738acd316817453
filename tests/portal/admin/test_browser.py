"""An admin hides a space in a real Chromium; it is gone from search, API and feeds."""

from __future__ import annotations

import pytest

from tests.browser import launch_chromium
from tests.portal.hosting.conftest import base_url, browser_sign_in

__all__ = ["base_url"]

pytestmark = pytest.mark.browser


def test_admin_hides_a_space_and_it_is_gone_everywhere(
    base_url, make_user, make_space, now
) -> None:
    space = make_space(title="Quokka hour", topics=["quokkas"], checked=now)
    admin = make_user(is_admin=True)
    with launch_chromium() as browser:
        page = browser.new_page()
        api = f"{base_url}/api/v1/spaces?q=quokka"
        assert [i["id"] for i in page.request.get(api).json()["items"]] == [space]
        browser_sign_in(page, base_url, admin, "/admin/spaces?q=Quokka")
        card = page.locator(f"#space-{space}")
        hide = card.locator("form.act", has=page.locator("input[value=hide]"))
        hide.locator("input[name=reason]").fill("spam, reported twice")
        hide.locator("button").click()
        page.wait_for_load_state()
        assert "Done: hide" in page.locator(".flash").first.text_content()
        assert page.request.get(api).json()["items"] == []
        page.goto(f"{base_url}/search?q=quokka")
        assert "Quokka hour" not in page.content()
        for feed in ("/feeds/live.atom", "/feeds/topics/quokkas.atom"):
            assert "Quokka" not in page.request.get(base_url + feed).text()
        page.goto(f"{base_url}/admin/audit")
        assert "spam, reported twice" in page.content()
