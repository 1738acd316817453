"""Becoming a host, as people meet it: ask from the account page, an admin approves,
the new host opens a room from the portal and the portal shows it live."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from core.catalog.models import HostedRoom, Space
from core.queues import CRAWL_NOW
from core.services import Services
from tests.browser import DESKTOP, PHONE, save_screenshot, wait_for_swap, wait_until
from tests.journeys.conftest import World
from tests.portal.accounts.helpers import make_user
from worker import context
from worker.run import run_worker

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def crawl_now(world: World) -> None:
    """Run the worker over the crawl-now queue until it is empty, as `spaces worker` would."""
    # The crawler may fetch the room server on loopback, as `spaces up` allows it.
    config = world.config.with_(crawl_allow=("127.0.0.1",))
    # The same Redis: a copy without it would start an embedded server of its own.
    services: Services = dataclasses.replace(
        world.services, config=config, _redis=world.services.redis
    )
    context.install(services)
    try:
        run_worker(config, [CRAWL_NOW], scheduler=False, burst=True)
    finally:
        context.reset()


def test_a_new_listener_asks_to_host_is_approved_and_opens_a_live_room(world: World) -> None:
    # A new person signs up, as anyone would.
    nia = world.page(viewport=PHONE)
    world.sign_up(nia, "Nia Long", "nia", "nia@example.org")

    # Hosting is asked for from the account page, with a reason.
    nia.goto(f"{world.portal}/account/settings")
    hosting = nia.locator(".account-hosting")
    hosting.get_by_role("link", name="Ask to host").click()
    nia.wait_for_url(f"{world.portal}/account/host")
    nia.get_by_label("What would you like to host?").fill("Late-night jazz with friends")
    nia.get_by_role("button", name="Ask to host").click()
    wait_for_swap(nia)
    assert "Your request is waiting for an admin" in nia.locator("main").inner_text()
    nia.goto(f"{world.portal}/host/")
    assert "ask to host" in nia.locator("main").inner_text().lower(), "not a host yet"

    # An admin, in a browser of their own, approves it from the curation queue.
    make_user(world.services, "ada@example.org", admin=True)
    ada = world.page(viewport=DESKTOP)
    world.sign_in(ada, "ada@example.org")
    ada.goto(f"{world.portal}/admin/")
    request = ada.locator(".queue-list > li").filter(has_text="Late-night jazz with friends")
    assert request.get_by_role("link", name="Nia Long").is_visible()
    request.get_by_label("Note to them").fill("Welcome aboard")
    request.get_by_role("button", name="Approve").click()
    ada.wait_for_url(f"{world.portal}/admin/")
    assert "is approved" in ada.locator(".flash").inner_text()

    # The new host opens a room from the host dashboard.
    nia.goto(f"{world.portal}/account/settings")
    nia.locator(".account-hosting").get_by_role("link", name="open your dashboard").click()
    nia.wait_for_url(f"{world.portal}/host/")
    nia.fill("#room-title", "Jazz after midnight")
    nia.get_by_role("button", name="Open room").click()
    nia.wait_for_url(re.compile(rf"{re.escape(world.portal)}/host/rooms/\d+"))
    assert "your room is open" in nia.locator("main").inner_text().lower()

    # The portal finds the room (the dashboard queued a crawl of it) and shows it live.
    crawl_now(world)
    with world.services.catalog.sessions() as session:
        room = session.scalars(select(HostedRoom)).one()
        space = session.scalars(select(Space).where(Space.canonical_url == room.share_url)).one()
        space_id = space.id
    visitor = world.page(viewport=PHONE)
    visitor.goto(f"{world.portal}/")
    visitor.locator("#live").get_by_role("link", name="Jazz after midnight").click()
    visitor.wait_for_url(f"{world.portal}/spaces/{space_id}")
    badge = visitor.locator("[data-space-badge]")
    wait_until(lambda: badge.text_content().strip() == "LIVE", 10, "the space page saying LIVE")
    assert "Nia Long" in visitor.locator("main").inner_text()
    save_screenshot(visitor, "journey a new host's room live on the portal")
    assert nia.problems == [] and ada.problems == [] and visitor.problems == []
