"""A listener in a real Chromium adds a scheduled space to their calendar and copies its embed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import icalendar
import pytest

from core.catalog.states import State
from tests.browser import DESKTOP, launch_chromium, wait_until
from tests.portal.hosting.conftest import base_url

__all__ = ["base_url"]

pytestmark = pytest.mark.browser


def test_listener_adds_to_calendar_and_copies_the_embed_code(base_url, make_space, now) -> None:
    start = (now + timedelta(days=2)).replace(microsecond=0)
    space_id = make_space(
        title="Friday </script> jam", state=State.SCHEDULED, scheduled_start=start
    )
    with launch_chromium() as browser:
        context = browser.new_context(
            viewport=DESKTOP, permissions=["clipboard-read", "clipboard-write"]
        )
        page = context.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        # Arrive as people do: from the home page, which the portal swaps in place.
        page.goto(base_url + "/")
        page.evaluate("window.sameDocument = true")
        page.locator("#upcoming .card-title a").first.click()
        page.wait_for_url(f"{base_url}/spaces/{space_id}")
        page.locator("h1", has_text="Friday </script> jam").wait_for()
        # Swapped in, not reloaded (a player in the dock would have kept playing).
        assert page.evaluate("window.sameDocument === true")

        with (
            page.expect_response(lambda r: "/calendar/spaces/" in r.url) as answer,
            page.expect_download() as download,
        ):
            page.get_by_role("link", name="Add to calendar").click()
        response = answer.value
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/calendar")
        body = Path(download.value.path()).read_bytes()
        assert download.value.suggested_filename == f"space-{space_id}.ics"
        (event,) = icalendar.Calendar.from_ical(body).walk("VEVENT")
        assert event.decoded("dtstart") == start
        assert str(event["summary"]) == "Friday </script> jam"
        assert page.url == f"{base_url}/spaces/{space_id}", "the download left the page as it was"

        copy = page.get_by_role("button", name="Copy badge code")
        assert copy.inner_text() == "Copy"
        copy.click()
        status = page.locator("[data-embed-status]")
        wait_until(lambda: status.text_content() == "Copied", 5, "the Copied announcement")
        assert copy.inner_text() == "Copied"
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.locator("#embed-badge").input_value()
        assert f"/badge/{space_id}.svg" in copied
        # The JSON-LD block and the scripts all live within the CSP.
        assert problems == []
        context.close()
