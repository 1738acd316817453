"""A space as people meet it, through the portal, in Chromium.

Each test walks one path a person takes and checks the outcome where that person would
perceive it: sound arriving in their player (inbound audio energy, and the loudness a
second listener's connection receives), a reaction on their avatar on the host's screen,
a badge that changes without a reload.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from portal.hosting import roomserver
from rooms.client import RoomConnection, join_host, join_listener
from tests.browser import DESKTOP, PHONE, save_screenshot, wait_until
from tests.journeys.conftest import World

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCK_FRAME = "#player-dock iframe.player"


def portal_player(page: Any) -> Any:
    """The room server's player frame inside a portal page."""
    return next(frame for frame in page.frames if "/embed" in frame.url)


def energy(frame: Any) -> float:
    return float(frame.evaluate("window.spacesPlayer ? window.spacesPlayer.energy : 0"))


def player_says(frame: Any, field: str) -> Any:
    return frame.evaluate(f"window.spacesPlayer ? window.spacesPlayer.{field} : null")


def hears(frame: Any, what: str, timeout: float = 20) -> None:
    """Inbound audio energy in this player keeps growing: the person hears the room."""
    before = energy(frame)
    wait_until(lambda: energy(frame) > before + 0.001, timeout, f"{what} hearing the room")


def loudness(world: World, conn: RoomConnection, seconds: float = 0.5) -> float:
    """RMS of the last moments a (Python) listener's connection received."""

    async def read() -> np.ndarray:
        return conn.audio()[-int(seconds * 48000) :].astype(float)

    samples = world.rooms.call(read())
    return float(np.sqrt(np.mean(samples**2))) if len(samples) else 0.0


def host_goes_on_stage(world: World, host: Any, room_id: str) -> Any:
    """The host opens their room page, joins, and is on stage with the mic muted."""
    page = world.host_page(host, room_id, viewport=DESKTOP)
    page.get_by_role("button", name="Join as host").click()
    wait_until(lambda: player_says(page, "role") == "host", 15, "the host joining")
    wait_until(lambda: player_says(page, "state") == "playing", 15, "the host connecting")
    assert page.get_by_role("button", name="Unmute").is_visible(), "the host starts muted"
    return page


def test_a_listener_finds_a_live_space_hears_it_and_reacts(world: World) -> None:
    ada = world.person("ada@example.org", "Ada Lovelace", "ada", host=True)
    room_id, space_id = world.open_room(ada, "Jazz at noon")
    host = host_goes_on_stage(world, ada, room_id)
    host.get_by_role("button", name="Unmute").click()
    wait_until(lambda: player_says(host, "muted") is False, 5, "the host unmuting")

    listener = world.page(viewport=PHONE)
    listener.goto(world.portal + "/")
    listener.locator("#live").get_by_role("link", name="Jazz at noon").click()
    listener.wait_for_url(f"{world.portal}/spaces/{space_id}")
    player = listener.frame_locator(DOCK_FRAME)
    # One way to listen on the page: the player's own button.
    assert listener.get_by_role("link", name="Listen").count() == 0
    player.get_by_role("button", name="Listen").click()
    frame = portal_player(listener)
    wait_until(lambda: player_says(frame, "state") == "playing", 20, "the listener connecting")
    hears(frame, "the listener")
    # The whole room shows at its own height: no scrollbar inside the frame.
    wait_until(
        lambda: frame.evaluate("document.documentElement.scrollHeight <= window.innerHeight + 1"),
        5,
        "the player frame growing to the player's height",
    )
    # The portal's page has the share box: the player does not repeat it.
    assert not player.locator(".player-share").is_visible()
    # The page's own count follows the room: the host is on stage, this person listens.
    wait_until(
        lambda: listener.locator('[data-space-stat="listeners"]').inner_text() == "1",
        10,
        "the page's listener count following the room",
    )

    listener_peer = player_says(frame, "peerId")
    player.get_by_role("button", name="Send a reaction").click()
    player.get_by_role("button", name="React clap").click()
    wait_until(
        lambda: host.locator(
            f'.player-audience [data-peer-id="{listener_peer}"][data-reaction="👏"]'
        ).count(),
        5,
        "the clap floating on the listener's avatar on the host's screen",
    )
    save_screenshot(listener, "journey listener in the portal")
    save_screenshot(host, "journey host sees the reaction")
    assert listener.problems == [] and host.problems == []


def test_a_signed_in_listener_speaks_from_the_portal_and_is_heard(world: World) -> None:
    ada = world.person("ada@example.org", "Ada Lovelace", "ada", host=True)
    world.person("nia@example.org", "Nia Long", "nia")
    room_id, space_id = world.open_room(ada, "Open mic")
    host = host_goes_on_stage(world, ada, room_id)  # stays muted: any sound is Nia's
    other = world.rooms.call(join_listener(world.rooms.url, room_id))
    try:
        nia = world.page(viewport=DESKTOP)
        world.sign_in(nia, "nia@example.org")
        nia.goto(f"{world.portal}/spaces/{space_id}")
        player = nia.frame_locator(DOCK_FRAME)
        player.get_by_role("button", name="Listen").click()
        frame = portal_player(nia)
        wait_until(lambda: player_says(frame, "state") == "playing", 20, "Nia connecting")
        player.get_by_role("button", name="Request to speak").click()
        wait_until(lambda: player_says(frame, "requested") is True, 5, "the request")

        # The host sees her by name, linked to her page on the portal, and approves.
        approve = host.get_by_role("button", name="Approve Nia Long")
        wait_until(approve.is_visible, 10, "the host seeing Nia's request by name")
        profile = host.locator(".player-requests").get_by_role("link", name="Nia Long")
        assert profile.get_attribute("href") == f"{world.portal}/hosts/nia"
        assert loudness(world, other) < 50, "the room is silent before Nia speaks"
        approve.click()
        wait_until(lambda: player_says(frame, "role") == "speaker", 10, "Nia on stage")
        player.get_by_role("button", name="Unmute").click()
        wait_until(lambda: player_says(frame, "muted") is False, 5, "Nia unmuting")

        # Chromium's fake microphone beeps: the host and another listener hear it.
        hears(host, "the host", timeout=20)
        wait_until(lambda: loudness(world, other) > 300, 20, "another listener hearing Nia")
        on_stage = host.locator(".player-stage").get_by_text("Nia Long")
        assert on_stage.is_visible()
        save_screenshot(nia, "journey speaker in the portal")
        save_screenshot(host, "journey host hears the speaker")
        assert nia.problems == [] and host.problems == []
    finally:
        world.rooms.call(other.close())


def test_the_host_ends_and_every_screen_says_so(world: World) -> None:
    ada = world.person("ada@example.org", "Ada Lovelace", "ada", host=True)
    room_id, space_id = world.open_room(ada, "Last call")
    host = host_goes_on_stage(world, ada, room_id)
    listener = world.page(viewport=PHONE)
    listener.goto(f"{world.portal}/spaces/{space_id}")
    player = listener.frame_locator(DOCK_FRAME)
    player.get_by_role("button", name="Listen").click()
    frame = portal_player(listener)
    wait_until(lambda: player_says(frame, "state") == "playing", 20, "the listener connecting")

    host.get_by_role("button", name="End space").click()
    host.get_by_role("dialog").get_by_role("button", name="End space").click()
    wait_until(lambda: player_says(frame, "state") == "ended", 10, "the player saying it ended")
    # The portal page changes by itself: the badge, and nothing left to press.
    badge = listener.locator("[data-space-badge]")
    wait_until(lambda: badge.text_content().strip() == "Ended", 10, "the page's badge")
    assert player.get_by_role("button", name="Listen").count() == 0
    assert listener.get_by_role("link", name="Listen").count() == 0
    assert "This space has ended" in player.locator("#spaces-player").inner_text()
    wait_until(
        lambda: "ended" in host.locator("#spaces-player").inner_text().lower(),
        10,
        "the host's own screen saying it ended",
    )
    save_screenshot(listener, "journey ended in the portal")
    assert listener.problems == []


def test_a_scheduled_space_reads_in_the_viewers_time_zone(world: World) -> None:
    starts = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)
    with world.services.catalog.session() as session:
        space = upsert_space(
            session,
            SpaceRecord(
                url="https://x.com/i/spaces/1YqGoAbcdEfGh",
                platform="x",
                title="Tomorrow's talk",
                state=State.SCHEDULED,
                scheduled_start=starts,
                host_handle="ada",
                host_name="Ada",
            ),
        )
        session.flush()
        space_id = space.id
    page = world.page(viewport=PHONE, timezone_id="America/Sao_Paulo", locale="en-GB")
    page.goto(f"{world.portal}/spaces/{space_id}")
    local = page.locator("[data-space-timing] time[data-local]")
    wait_until(lambda: local.get_attribute("data-localized") is not None, 5, "localising")
    shown = starts.astimezone(ZoneInfo("America/Sao_Paulo"))
    assert f"{shown:%H:%M}" in local.inner_text() and "UTC" not in local.inner_text()
    assert page.problems == []


def test_the_player_remembers_nobody_once_the_portal_stops_naming_them(world: World) -> None:
    ada = world.person("ada@example.org", "Ada Lovelace", "ada", host=True)
    nia = world.person("nia@example.org", "Nia Long", "nia")
    room_id, _ = world.open_room(ada, "Who is here")
    host = world.rooms.call(
        join_host(world.rooms.url, room_id, roomserver.host_token(world.config, ada))
    )
    try:
        listeners = lambda: [p["name"] for p in host.state.get("listeners", [])]  # noqa: E731
        token = roomserver.listen_token(world.config, nia, "")
        embed = f"{world.rooms.url}/s/{room_id}/embed"
        page = world.page(viewport=PHONE)
        page.goto(f"{embed}#token={token}")  # as the portal frames it for Nia
        page.get_by_role("button", name="Listen").click()
        wait_until(lambda: listeners() == ["Nia Long"], 10, "the host seeing Nia by name")
        page.get_by_role("button", name="Leave").click()
        wait_until(lambda: listeners() == [], 10, "Nia leaving")
        # Signed out, the portal frames the player with no token: a guest, in the same tab.
        page.goto(embed)
        page.get_by_role("button", name="Listen").click()
        wait_until(lambda: listeners(), 10, "someone listening again")
        assert listeners()[0].startswith("Guest ")
    finally:
        world.rooms.call(host.close())
