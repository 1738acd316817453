"""In Chromium: a listener chooses how notices reach them; an admin reads the outbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from core.catalog.people import choices_of, set_choice
from core.mail import OutboxMailer, compose, outbox_folder
from core.unsubscribe import unsubscribe_url
from tests.browser import (
    PHONE,
    axe_violations,
    horizontal_overflow,
    launch_chromium,
    save_screenshot,
)
from tests.portal.hosting.conftest import base_url, browser_sign_in, config, make_user

__all__ = ["base_url", "config", "make_user"]

pytestmark = pytest.mark.browser

FOLLOW = "A host you follow goes live"
SEARCH = "A saved search matches a space that goes live"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with launch_chromium() as launched:
        yield launched


def test_a_listener_chooses_push_and_email_and_finds_them_kept(
    browser, base_url, make_user, services
) -> None:
    fan = make_user(display_name="Fan")
    with services.catalog.session() as session:
        # Away from the defaults, so choosing Push and Email is a change to save.
        set_choice(session, fan.id, "follow", "both")
        set_choice(session, fan.id, "search", "app")
    page = browser.new_page(viewport=PHONE)
    browser_sign_in(page, base_url, fan, "/me/notifications")
    page.get_by_role("link", name="Notification settings").click()
    page.wait_for_url(f"{base_url}/me/settings")
    follow = page.get_by_role("group", name=FOLLOW)
    search = page.get_by_role("group", name=SEARCH)
    assert follow.get_by_role("radio", name="Both").is_checked()
    follow.get_by_role("radio", name="Push").check()
    search.get_by_role("radio", name="Email").check()
    page.get_by_label("Send mail as a daily digest instead of at once").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    assert "Your notification settings are saved." in page.locator(".flash").inner_text()

    page.reload()
    assert page.get_by_role("group", name=FOLLOW).get_by_role("radio", name="Push").is_checked()
    assert page.get_by_role("group", name=SEARCH).get_by_role("radio", name="Email").is_checked()
    assert page.get_by_label("Send mail as a daily digest instead of at once").is_checked()
    assert horizontal_overflow(page) == 0
    assert axe_violations(page) == []
    save_screenshot(page, "notification settings")
    with services.catalog.sessions() as session:
        chosen = choices_of(session, [fan.id])
    assert (chosen[(fan.id, "follow")], chosen[(fan.id, "search")]) == ("push", "email")
    page.close()


def test_an_admin_opens_the_outbox_and_reads_a_message(
    browser, base_url, make_user, config
) -> None:
    fan = make_user(email="fan@example.org")
    stop = unsubscribe_url(config, fan.id, "search")
    text = "Your saved search “jazz” matched: http://portal.test/spaces/5"
    message = compose(config, fan.email, "Jazz night is live", text, unsubscribe_url=stop)
    OutboxMailer(outbox_folder(config)).send(message)
    admin = make_user(is_admin=True, display_name="Ada")
    page = browser.new_page(viewport=PHONE)
    browser_sign_in(page, base_url, admin, "/admin/")
    page.get_by_role("navigation", name="Admin").get_by_role("link", name="Outbox").click()
    page.wait_for_url(f"{base_url}/admin/outbox")
    row = page.get_by_role("row", name="Jazz night is live")
    assert "fan@example.org" in row.inner_text()
    row.get_by_role("link", name="Jazz night is live").click()
    page.get_by_role("heading", name="Plain text").wait_for()
    body = page.locator(".mail-text")
    assert "Your saved search “jazz” matched" in body.inner_text()
    assert body.get_by_role("link", name="http://portal.test/spaces/5").count() == 1
    assert body.get_by_role("link", name=stop).get_attribute("href") == stop
    assert stop in page.locator(".mail-headers").inner_text()
    assert axe_violations(page) == []
    save_screenshot(page, "outbox message")
    page.go_back()
    save_screenshot(page, "outbox")
    page.close()
