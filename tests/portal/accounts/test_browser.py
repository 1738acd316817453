"""A listener's first visit in Chromium: sign up, follow a host, see them go live."""

from __future__ import annotations

import pytest

from core.catalog.models import Space
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import record_observation, upsert_space
from core.catalog.states import State
from tests.browser import launch_chromium, serve
from tests.portal.views.conftest import ROOMS

pytestmark = pytest.mark.browser


def test_sign_up_follow_and_see_the_host_go_live(app, services) -> None:
    url = f"{ROOMS}/s/nightjazz"
    with services.catalog.session() as session:
        upsert_space(
            session,
            SpaceRecord(
                url=url,
                platform="rooms",
                title="Night jazz",
                state=State.SCHEDULED,
                host_handle="ella",
                host_name="Ella F",
            ),
        )
    with serve(app) as base, launch_chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/")
        page.get_by_role("link", name="Create account").click()
        page.get_by_label("Your name").fill("Nia")
        page.get_by_label("Email").fill("nia@example.org")
        page.get_by_label("Password", exact=False).first.fill("a long passphrase")
        page.get_by_label("Password again").fill("a long passphrase")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(base + "/")
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert page.locator("[data-followed-live]").count() == 0

        page.goto(base + "/hosts/ella")
        page.get_by_role("button", name="Follow @ella").click()
        # nav.js sends the form and swaps the answer in: the address does not change.
        page.get_by_role("button", name="Following @ella").wait_for()
        assert page.url == base + "/hosts/ella"

        # The host goes live, as a liveness check would record it.
        with services.catalog.session() as session:
            space = upsert_space(
                session, SpaceRecord(url=url, platform="rooms", state=State.LIVE, listener_count=8)
            )
            session.flush()
            space = session.get(Space, space.id)
            record_observation(session, space, Observation(state=State.LIVE, listener_count=9))

        page.goto(base + "/")
        bar = page.locator("[data-followed-live]")
        assert bar.is_visible()
        assert "Night jazz" in bar.inner_text() and "9 listening" in bar.inner_text()
        # It sits above everything else on the page, in the accent purple.
        first = page.locator("main > :not(.flash)").first
        assert first.get_attribute("data-followed-live") is not None
        background = bar.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background in ("rgb(91, 33, 182)", "rgb(76, 29, 149)")
        assert page.locator(".notifications-link .count").inner_text() == "1"
        bar.get_by_role("link", name="Night jazz").click()
        page.wait_for_url("**/spaces/*")
        page.locator(".notifications-link").click()
        # nav.js swaps <main> in place: wait for the new page's heading, not just the click.
        page.wait_for_url("**/me/notifications")
        page.get_by_role("heading", name="Notifications").wait_for()
        assert "Ella F, whom you follow, is live: Night jazz" in page.locator("main").inner_text()
        assert problems == []
