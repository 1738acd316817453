"""In Chromium: signed in on two devices, one ends the other's session from the Sessions page."""

from __future__ import annotations

import pytest

from core.catalog.models import User
from tests.browser import launch_chromium, save_screenshot, serve
from tests.portal.accounts.helpers import make_user
from tests.portal.hosting.conftest import browser_sign_in

pytestmark = pytest.mark.browser

PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def test_ending_a_session_signs_that_device_out(app, services) -> None:
    user_id = make_user(services, "ann@example.org")
    with services.catalog.sessions() as db:
        user = db.get(User, user_id)
    assert user is not None
    with serve(app) as base, launch_chromium() as browser:
        laptop = browser.new_context().new_page()
        phone = browser.new_context(user_agent=PHONE).new_page()
        problems: list[str] = []
        for page in (laptop, phone):
            page.on("pageerror", lambda error: problems.append(str(error)))
            browser_sign_in(page, base, user, "/account/settings")

        laptop.get_by_role("link", name="Where you are signed in").click()
        laptop.wait_for_url(f"{base}/account/sessions")
        sessions = laptop.get_by_role("list", name="Active sessions")
        mine = sessions.get_by_role("listitem").filter(has_text="This device")
        assert mine.count() == 1 and "Chrome on Linux" in mine.inner_text()
        assert "Chrome on Android" in sessions.inner_text()
        save_screenshot(laptop, "account sessions")

        laptop.get_by_role("button", name="End the session on Chrome on Android").click()
        laptop.get_by_text("The session on Chrome on Android is ended").wait_for()
        assert "Chrome on Android" not in sessions.inner_text()

        # The phone's next page load finds itself signed out.
        phone.reload()
        phone.wait_for_url(lambda url: url.startswith(f"{base}/account/signin?next="))
        assert phone.get_by_role("link", name="Sign in").first.is_visible()
        laptop.goto(f"{base}/account/settings")
        assert laptop.get_by_role("button", name="Sign out").is_visible()
        assert problems == []
