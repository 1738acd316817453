"""A listener in Chromium turns on notifications, and a pushed message is shown."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import launch_chromium, wait_until
from tests.portal.hosting.conftest import base_url, browser_sign_in, make_user

__all__ = ["base_url", "make_user"]

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One browser for the module; each test opens its own context (its own profile)."""
    with launch_chromium() as browser:
        yield browser


TITLES = (
    "navigator.serviceWorker.ready.then(r => r.getNotifications())"
    ".then(list => list.map(n => [n.title, n.body, n.tag, n.data && n.data.url]))"
)


def test_turn_on_notifications_and_see_a_pushed_one(chromium, base_url, make_user) -> None:
    person = make_user(display_name="Nia")
    context = chromium.new_context()
    try:
        context.grant_permissions(["notifications"], origin=base_url)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        cdp = context.new_cdp_session(page)
        registrations: list[dict] = []
        cdp.on(
            "ServiceWorker.workerRegistrationUpdated",
            lambda event: registrations.extend(event["registrations"]),
        )
        cdp.send("ServiceWorker.enable")

        browser_sign_in(page, base_url, person, "/me/devices")
        page.get_by_role("heading", name="Browsers that get your notifications").wait_for()
        section = page.locator("#this-browser")
        # The service worker registers for the whole site and says so on the page.
        wait_until(lambda: section.get_attribute("data-worker") == "ready", 10, "worker ready")
        assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == base_url + "/"
        status = page.locator("#push-status")
        assert status.get_attribute("data-state") == "off"
        assert status.inner_text() == "Notifications are off on this browser."

        page.get_by_role("button", name="Turn on notifications on this browser").click()
        state = wait_until(
            lambda: (
                status.get_attribute("data-state") in ("subscribed", "failed", "error")
                and status.get_attribute("data-state")
            ),
            30,
            "the subscription to succeed or fail visibly",
        )
        if state == "subscribed":
            # Chromium reached a push service: the browser is now on the list, marked.
            assert page.locator("[data-this-browser]:visible").count() == 1
        else:
            # Headless Chromium has no push service to reach: the page says so, with the
            # browser's own words, and the button stays there to try again.
            assert state == "failed", status.inner_text()
            text = status.inner_text()
            assert text.startswith("This browser could not subscribe to notifications: ")
            assert len(text) > len("This browser could not subscribe to notifications: .")
            assert page.get_by_role("button", name="Turn on notifications").is_enabled()

        scope = base_url + "/"
        ours = [r for r in registrations if r["scopeURL"] == scope and not r["isDeleted"]]
        assert ours, registrations

        def deliver(payload: dict[str, str]) -> None:
            message = {"origin": base_url, "registrationId": ours[-1]["registrationId"]}
            cdp.send("ServiceWorker.deliverPushMessage", {**message, "data": json.dumps(payload)})

        deliver({"title": "Ella is live", "body": "Night jazz", "url": "/spaces/1", "tag": "t1"})
        shown = wait_until(lambda: page.evaluate(TITLES), 10, "the notification to show")
        assert shown == [["Ella is live", "Night jazz", "t1", base_url + "/spaces/1"]]
        # A link to another site is never followed from a notification: it leads home.
        deliver(
            {"title": "Elsewhere", "body": "", "url": "https://elsewhere.example/", "tag": "t2"}
        )
        shown = wait_until(lambda: len(page.evaluate(TITLES)) == 2, 10, "a second notification")
        assert ["Elsewhere", "", "t2", base_url + "/"] in page.evaluate(TITLES)
        assert problems == []
    finally:
        context.close()


def test_blocked_notifications_are_explained(chromium, base_url, make_user) -> None:
    person = make_user()
    context = chromium.new_context()
    try:
        page = context.new_page()
        browser_sign_in(page, base_url, person, "/me/devices")
        status = page.locator("#push-status")
        wait_until(lambda: status.get_attribute("data-state") == "off", 10, "the button")
        page.get_by_role("button", name="Turn on notifications on this browser").click()
        state = wait_until(
            lambda: (
                status.get_attribute("data-state") not in ("off", "working")
                and status.get_attribute("data-state")
            ),
            10,
            "an answer to the permission question",
        )
        assert state == "denied"
        assert status.inner_text() == (
            "Notifications are blocked for this site: allow them in your browser's site "
            "settings, then reload this page."
        )
        assert page.get_by_role("button", name="Turn on notifications").is_hidden()
    finally:
        context.close()
