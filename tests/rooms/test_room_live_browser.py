"""The room page follows the room by itself; avatars show who talks and who reacts."""

from __future__ import annotations

import re
import time
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from rooms.client import connect_control, create_room, join_host, join_listener
from tests.browser import browser, chromium, serve
from tests.rooms.conftest import ServerThread, free_port, host_token
from tests.rooms.test_player_browser import page, wait_until  # noqa: F401 - fixture

__all__ = ["browser", "chromium"]

pytestmark = pytest.mark.browser

PLAYER = "document.getElementById('spaces-player')"


def text(page: Any, selector: str) -> str:  # noqa: F811
    return str(page.locator(selector).inner_text())


def test_scheduled_page_goes_live_then_ended_without_reload(
    server: ServerThread,
    page: Any,  # noqa: F811
) -> None:
    token = host_token()
    due = datetime.now(UTC) + timedelta(seconds=4)
    room = server.call(
        create_room(server.url, token, title="Starts soon", scheduled_start=due.isoformat())
    )
    assert room["state"] == "scheduled"
    # Without scripts the time is still readable, in UTC.
    html = page.request.get(f"{server.url}/s/{room['id']}").text()
    assert re.search(
        r"<time datetime=\"[^\"]+\" data-style=\"absolute\">"
        r"\d{1,2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC</time>",
        html,
    )
    page.goto(f"{server.url}/s/{room['id']}")
    page.evaluate("window.loadedOnce = true")  # gone if the page reloads

    # Scheduled: when, in the viewer's own words; nothing to press yet.
    assert "scheduled for" in text(page, ".player-status")
    assert "UTC" not in text(page, ".player-status"), "the script did not rewrite the time"
    assert page.get_by_role("button", name="Listen").count() == 0
    assert text(page, "[data-room-state]").lower() == "scheduled"

    # Overdue: it says the host has not started, never "starts ... ago".
    wait_until(page, f"/has not started yet \\(it was due/.test({PLAYER}.innerText)", 15)
    assert "starts" not in text(page, ".player-status")
    assert page.get_by_role("button", name="Listen").count() == 0

    host = server.call(join_host(server.url, room["id"], token))
    try:
        wait_until(page, "window.spacesPlayer.roomState === 'live'", 10)
        assert page.get_by_role("button", name="Listen").is_visible()
        assert text(page, "[data-room-state]").lower() == "live"
        assert "Started" in text(page, ".player-when")
        wait_until(page, "document.querySelector('.player-stage .player-face')", 10)
        assert "Alice" in text(page, ".player-stage")

        server.call(host.end())
        wait_until(page, "window.spacesPlayer.roomState === 'ended'", 10)
        assert page.get_by_role("button", name="Listen").count() == 0
        assert "This space has ended" in text(page, ".player-status")
        assert text(page, "[data-room-state]").lower() == "ended"
        assert page.evaluate("window.loadedOnce") is True
    finally:
        server.call(host.close())


def test_listening_page_follows_the_end_at_once(server: ServerThread, page: Any) -> None:  # noqa: F811
    token = host_token()
    room = server.call(create_room(server.url, token, title="Ends while heard"))
    host = server.call(join_host(server.url, room["id"], token))
    try:
        page.goto(f"{server.url}/s/{room['id']}")
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
        server.call(host.end())
        # Well within one status poll: the server's message does it.
        wait_until(page, "window.spacesPlayer.roomState === 'ended'", 3)
        assert text(page, "[data-room-state]").lower() == "ended"
        assert page.get_by_role("button", name="Leave").count() == 0
        assert page.get_by_role("button", name="Listen").count() == 0
        status = page.request.get(f"{server.url}/api/rooms/{room['id']}").json()
        if status.get("recording_url"):
            wait_until(page, "!!document.querySelector('.player-recording:not([hidden])')", 15)
            link = page.get_by_role("link", name="Play the recording")
            assert link.get_attribute("href") == status["recording_url"]
    finally:
        server.call(host.close())


def test_host_avatar_rings_while_its_tone_plays(server: ServerThread, page: Any) -> None:  # noqa: F811
    token = host_token()
    room = server.call(create_room(server.url, token, title="Who talks"))
    host = server.call(join_host(server.url, room["id"], token, tone_hz=440.0))
    try:
        page.goto(f"{server.url}/s/{room['id']}")
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
        deadline = time.monotonic() + 8
        while not page.evaluate("Object.keys(window.spacesPlayer.levels).length"):
            if time.monotonic() > deadline:
                pytest.skip("the room server sends no audio levels")
            time.sleep(0.1)
        ring = f".player-stage [data-peer-id='{host.peer_id}']"
        wait_until(page, f'!!document.querySelector("{ring}")', 5)
        wait_until(page, f"document.querySelector(\"{ring}\")?.dataset.speaking === 'true'", 5)
        assert page.locator(ring).evaluate("li => li.classList.contains('is-speaking')")

        # Muted, the host's ring goes away and a crossed-out microphone says so.
        server.call(host.mute(True))
        wait_until(page, f"document.querySelector(\"{ring}\")?.dataset.speaking === 'false'", 5)
        wait_until(page, f'!!document.querySelector("{ring} .player-muted")', 5)
        assert page.locator(ring).get_by_role("img", name="muted").is_visible()
    finally:
        server.call(host.close())


def test_a_listeners_reaction_shows_on_their_avatar_for_others(
    server: ServerThread, browser: Any
) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Clap along"))
    host = server.call(join_host(server.url, room["id"], token))
    other = server.call(join_listener(server.url, room["id"]))
    try:
        page = browser.new_page()
        page.goto(f"{server.url}/s/{room['id']}/embed")
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.state === 'playing'", 15)
        wait_until(page, "window.spacesPlayer.audience.length === 2", 5)
        avatar = page.locator(f".player-audience [data-peer-id='{other.peer_id}']")
        assert avatar.is_visible()

        server.call(other.react("👏"))
        wait_until(
            page,
            f"[...document.querySelectorAll(\".player-audience [data-peer-id='{other.peer_id}']"
            " .player-float\")].some(e => e.textContent === '👏')",
            5,
        )
        assert "reacted 👏" in page.locator(".player-reaction-log").inner_text()

        # The person in the browser reacts with the picker; it rises from their avatar.
        me = page.evaluate("window.spacesPlayer.peerId")
        picker = page.get_by_role("button", name="Send a reaction")
        picker.click()
        assert picker.get_attribute("aria-expanded") == "true"
        page.get_by_role("button", name="React heart").click()
        mine_selector = f".player-audience [data-peer-id='{me}'] .player-float"
        mine = page.locator(mine_selector)
        wait_until(
            page,
            f'!!document.querySelector("{mine_selector}")',
            5,
        )
        assert "❤" in mine.first.inner_text()
        page.keyboard.press("Escape")
        assert picker.get_attribute("aria-expanded") == "false"
        assert picker.evaluate("b => b === document.activeElement")
    finally:
        server.call(other.close())
        server.call(host.close())


def test_names_link_to_profiles_only_on_the_web(server: ServerThread, page: Any) -> None:  # noqa: F811
    profile = "https://portal.example/hosts/alice"
    token = host_token(handle="alice", profile=profile)
    room = server.call(create_room(server.url, token, title="Linked host"))
    host = server.call(join_host(server.url, room["id"], token))
    try:
        page.goto(f"{server.url}/s/{room['id']}")
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.speakers.length === 1", 15)
        link = page.locator(".player-stage").get_by_role("link", name="Alice")
        assert link.get_attribute("href") == profile
        assert link.get_attribute("target") == "_blank"
        assert "noopener" in link.get_attribute("rel")
        # Guests have no profile: their names are plain text.
        assert page.locator(".player-audience a").count() == 0
        # Anything but http(s) stays text.
        unsafe = page.evaluate(
            "window.SpacesPeople.tile({name: 'Mallory', profile: 'javascript:alert(1)'}, true)"
            ".querySelector('a') === null"
        )
        assert unsafe is True
    finally:
        server.call(host.close())


FRAME_PAGE = """<!doctype html><html><body>
<iframe id="player" src="{src}" title="Player"></iframe>
<script>
window.received = [];
addEventListener("message", function (e) {{
  if (e.origin === "{rooms}") window.received.push(e.data);
}});
function command(name) {{
  document.getElementById("player").contentWindow.postMessage(
    {{type: "spaces-player:command", command: name}}, "{rooms}");
}}
</script></body></html>"""


def last(page: Any, kind: str) -> Any:  # noqa: F811
    return page.evaluate(
        f"window.received.filter(m => m.type === 'spaces-player:{kind}').slice(-1)[0] || null"
    )


def framing_page(html: str, port: int) -> AbstractContextManager[str]:
    """Serve `html` at / on a loopback port in a thread (the portal's place); yield its URL."""
    body = html.encode()

    def answer(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body]

    return serve(answer, port)  # any WSGI app will do


def test_embed_tells_the_portal_its_size_and_state(start_server: Any, browser: Any) -> None:
    portal_port = free_port()
    server = start_server(portal_url=f"http://127.0.0.1:{portal_port}")
    token = host_token()
    room = server.call(create_room(server.url, token, title="Framed"))
    host = server.call(join_host(server.url, room["id"], token))
    src = f"{server.url}/s/{room['id']}/embed"
    html = FRAME_PAGE.format(src=src, rooms=server.url)
    try:
        with framing_page(html, portal_port) as portal:
            page = browser.new_page()
            page.goto(portal)
            wait_until(page, "window.received.some(m => m.type === 'spaces-player:size')", 10)
            frame = next(f for f in page.frames if f.url == src)
            wait_until(page, "window.received.some(m => m.speakers === 1)", 10)
            state = last(page, "state")
            assert state["roomState"] == "live" and state["state"] == "idle"
            assert state["listeners"] == 0 and state["recording"] == ""
            # The last size told is the player's height, once the layout has settled.
            measure = "Math.ceil(document.documentElement.getBoundingClientRect().height)"
            deadline = time.monotonic() + 5
            while (height := last(page, "size")["height"]) != frame.evaluate(measure):
                assert time.monotonic() < deadline, f"told {height}, is {frame.evaluate(measure)}"
                time.sleep(0.1)
            assert isinstance(height, int) and height > 200
            # Sized to that height, the frame has nothing left to scroll.
            page.evaluate(f"document.getElementById('player').style.height = '{height}px'")
            assert frame.evaluate(
                "document.documentElement.scrollHeight <= document.documentElement.clientHeight"
            )

            page.evaluate("command('listen')")
            wait_until(page, "window.received.some(m => m.state === 'playing')", 15)
            wait_until(page, "window.received.slice(-5).some(m => m.listeners === 1)", 5)
            # Listening shows the controls: the player grew, and said so.
            wait_until(page, f"window.received.some(m => m.height > {height})", 5)

            server.call(host.end())
            wait_until(page, "window.received.some(m => m.roomState === 'ended')", 5)
            page.evaluate("command('status')")
            assert last(page, "state")["roomState"] == "ended"
    finally:
        server.call(host.close())


def test_audience_shows_the_first_listeners_then_a_count(
    server: ServerThread,
    page: Any,  # noqa: F811
) -> None:
    token = host_token()
    room = server.call(create_room(server.url, token, title="Full house"))
    host = server.call(join_host(server.url, room["id"], token))
    crowd = [
        server.call(connect_control(server.url, room["id"], name=f"Fan {n}")) for n in range(26)
    ]
    try:
        page.goto(f"{server.url}/s/{room['id']}/embed")
        page.get_by_role("button", name="Listen").click()
        wait_until(page, "window.spacesPlayer.listeners === 27", 15)
        wait_until(page, "window.spacesPlayer.audience.length === 24", 5)
        assert page.locator(".player-audience .player-person").count() == 24
        assert page.locator(".player-audience").get_by_text("Fan 0", exact=True).is_visible()
        assert page.locator(".player-more").inner_text() == "+3 listening"
        assert "27 listening" in page.locator(".player-count").inner_text()
    finally:
        for conn in crowd:
            server.call(conn.close())
        server.call(host.close())
