"""An open space page follows its room server going out of reach and coming back.

The page asks the API every few seconds: a check that could not reach the room server
turns "checked N s ago" into "Can't reach the room server" and the LIVE badge into
"Live?"; the next check that reaches it turns both back.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from core.catalog.checks import record_observations
from core.catalog.records import Observation
from core.catalog.states import State
from core.services import Services
from core.timeutil import utcnow
from tests.browser import browser, chromium, serve
from tests.portal.views.conftest import MakeSpace

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser


def _check(services: Services, space_id: int, seen: Observation) -> None:
    with services.catalog.session() as session:
        record_observations(session, {space_id: seen}, interval_s=30, now=utcnow())


def test_an_open_space_page_follows_the_room_server_going_and_coming_back(
    app: Flask, services: Services, make_space: MakeSpace, browser: Any
) -> None:
    space_id = make_space(checked=utcnow())
    with serve(app) as base:
        page = browser.new_page()
        page.goto(f"{base}/spaces/{space_id}")
        reach, checked = page.locator("[data-space-reach]"), page.locator("[data-space-checked]")
        badge = page.locator("[data-space-badge] .badge")
        assert checked.is_visible() and not reach.is_visible()
        assert badge.text_content() == "LIVE"

        refused = Observation(None, error="connection refused", reason="connect")
        _check(services, space_id, refused)
        began = time.monotonic()
        reach.wait_for(state="visible", timeout=10_000)
        print(f"the open page said so {time.monotonic() - began:.1f} s after the failed check")
        assert reach.inner_text().startswith("Can't reach the room server; last reached")
        assert not checked.is_visible() and badge.text_content() == "Live?"

        _check(services, space_id, Observation(State.LIVE, status=200))
        checked.wait_for(state="visible", timeout=10_000)
        assert not reach.is_visible() and badge.text_content() == "LIVE"
        assert checked.inner_text().startswith("checked ")
