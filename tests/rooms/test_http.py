"""HTTP endpoints: status JSON, creating and ending rooms, pages, directory, pings."""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from typing import Any
from xml.etree import ElementTree as ET

import aiohttp
import pytest

from tests.rooms.conftest import ServerThread, host_token, listen_token, run


async def request(method: str, url: str, *, token: str | None = None, **kwargs: Any):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers, **kwargs) as resp,
    ):
        text = await resp.text()
        return resp.status, dict(resp.headers), text


def create(server: ServerThread, body: Any, token: str | None = None) -> tuple[int, Any]:
    status, _, text = run(
        request("POST", f"{server.url}/api/rooms", token=token or host_token(), json=body)
    )
    return status, json.loads(text)


class PageParser(HTMLParser):
    """Collect meta tags, links, scripts and JSON-LD blocks of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.scripts: list[dict[str, str]] = []
        self.json_ld: list[Any] = []
        self._in_ld = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "meta":
            self.meta[a.get("property") or a.get("name", "")] = a.get("content", "")
        elif tag == "link":
            self.links.append(a)
        elif tag == "script":
            self.scripts.append(a)
            self._in_ld = a.get("type") == "application/ld+json"

    def handle_data(self, data: str) -> None:
        if self._in_ld:
            self.json_ld.append(json.loads(data))
            self._in_ld = False


def test_create_room_returns_201_and_status(server: ServerThread) -> None:
    status, body = create(
        server,
        {"title": "Jazz night", "description": "Standards", "topics": ["Jazz"], "lang": "en"},
    )
    assert status == 201
    assert body["title"] == "Jazz night" and body["state"] == "live"
    assert body["topics"] == ["jazz"]
    assert body["host"] == {"name": "Alice", "handle": "alice", "profile": ""}
    assert body["share_url"] == f"{server.url}/s/{body['id']}"
    assert body["started_at"] and body["ended_at"] is None
    for key in ("speakers", "listener_count", "scheduled_start", "hls_url", "description"):
        assert key in body
    assert body["speaker_count"] == 0  # the host has not joined yet
    # No replay while live: nothing to offer, so no link to a refusal.
    assert body["recording_url"] == "" and body["transcript_url"] == ""


def test_status_json_has_cors_and_unknown_ids_are_404_json(server: ServerThread) -> None:
    _, body = create(server, {"title": "Status"})
    status, headers, text = run(request("GET", f"{server.url}/api/rooms/{body['id']}"))
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert json.loads(text)["id"] == body["id"]
    status, headers, text = run(request("GET", f"{server.url}/api/rooms/nope"))
    assert status == 404 and "error" in json.loads(text)
    assert headers["Access-Control-Allow-Origin"] == "*"


def test_scheduled_room_is_scheduled(server: ServerThread) -> None:
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    status, body = create(server, {"title": "Later", "scheduled_start": when})
    assert status == 201 and body["state"] == "scheduled"
    assert body["scheduled_start"] == when and body["started_at"] is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({}, "title"),
        ({"title": "   "}, "blank"),
        ({"title": 5}, "string"),
        ({"title": "x" * 121}, "limit is 120"),
        ({"title": "ok", "description": "d" * 2001}, "limit is 2000"),
        ({"title": "ok", "topics": "music"}, "list of strings"),
        ({"title": "ok", "topics": ["a"] * 11}, "limit is 10"),
        ({"title": "ok", "topics": ["no spaces"]}, "letters"),
        ({"title": "ok", "lang": "english!"}, "language tag"),
        ({"title": "ok", "scheduled_start": "tomorrow"}, "ISO 8601"),
        ({"title": "ok", "scheduled_start": 12}, "ISO 8601"),
        ({"title": "ok", "owner": "x"}, "unknown field"),
        ({"title": "ok", "id": "no spaces"}, "'id' must be"),
        ({"title": "ok", "id": "x" * 65}, "'id' must be"),
        ({"title": "ok", "id": 7}, "'id' must be"),
    ],
)
def test_create_room_validates_input(server: ServerThread, body: Any, message: str) -> None:
    status, reply = create(server, body)
    assert status == 400
    assert message in reply["error"]


def test_create_room_rejects_broken_json_and_huge_bodies(server: ServerThread) -> None:
    status, _, text = run(
        request("POST", f"{server.url}/api/rooms", token=host_token(), data=b"{nope")
    )
    assert status == 400 and "error" in json.loads(text)
    status, _, _ = run(
        request("POST", f"{server.url}/api/rooms", token=host_token(), data=b"x" * 70_000)
    )
    assert status == 413


def test_create_room_needs_a_host_token(server: ServerThread) -> None:
    status, _, text = run(request("POST", f"{server.url}/api/rooms", json={"title": "x"}))
    assert status == 401 and "Bearer" in json.loads(text)["error"]
    status, body = create(server, {"title": "x"}, token=listen_token())
    assert status == 403 and "'host'" in body["error"]
    status, body = create(server, {"title": "x"}, token=host_token(room="some-room"))
    assert status == 403


def test_only_the_rooms_host_can_end_it(server: ServerThread) -> None:
    _, room = create(server, {"title": "To end"})
    url = f"{server.url}/api/rooms/{room['id']}"
    status, _, _ = run(request("DELETE", url, token=host_token("mallory")))
    assert status == 403
    status, _, _ = run(request("DELETE", url, token=listen_token()))
    assert status == 403
    status, _, text = run(request("DELETE", url, token=host_token()))
    assert status == 200
    ended = json.loads(text)
    assert ended["state"] == "ended" and ended["ended_at"]


def test_room_page_metadata_and_escaping(server: ServerThread) -> None:
    title = 'Talk </script><script>alert("x")</script> & more'
    _, room = create(
        server, {"title": title, "description": "About <b>things</b>", "topics": ["tech"]}
    )
    status, headers, html = run(request("GET", f"{server.url}/s/{room['id']}"))
    assert status == 200
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "<script>alert" not in html and "<b>things" not in html
    page = PageParser()
    page.feed(html)
    assert page.meta["og:title"] == title
    assert page.meta["og:url"] == room["share_url"]
    assert page.meta["spaces:state"] == "live"
    alternate = [link for link in page.links if link.get("rel") == "alternate"]
    assert alternate[0]["type"] == "application/json"
    assert alternate[0]["href"] == f"/api/rooms/{room['id']}"
    (event,) = page.json_ld
    assert event["@type"] == "BroadcastEvent"
    assert event["name"] == title and event["description"] == "About <b>things</b>"
    assert event["isLiveBroadcast"] is True
    assert event["startDate"] == room["started_at"] and "endDate" not in event
    assert event["organizer"]["name"] == "Alice"
    # No inline scripts: every executable script is loaded from the server.
    assert all(s.get("src") or s.get("type") == "application/ld+json" for s in page.scripts)


def test_ended_room_page_has_end_date(server: ServerThread) -> None:
    _, room = create(server, {"title": "Done"})
    run(request("DELETE", f"{server.url}/api/rooms/{room['id']}", token=host_token()))
    _, _, html = run(request("GET", f"{server.url}/s/{room['id']}"))
    page = PageParser()
    page.feed(html)
    assert page.json_ld[0]["endDate"]
    assert page.meta["spaces:state"] == "ended"
    _, _, embed = run(request("GET", f"{server.url}/s/{room['id']}/embed"))
    assert "This space has ended." in embed
    # Nothing to press: the Listen button is not shown once a space has ended.
    listen = re.search(r"<button[^>]*player-listen[^>]*>", embed, re.S)
    assert listen and " hidden" in listen.group(0)


def test_embed_page_loads_player_script(server: ServerThread) -> None:
    _, room = create(server, {"title": "Embed me"})
    status, headers, html = run(request("GET", f"{server.url}/s/{room['id']}/embed"))
    assert status == 200 and "X-Frame-Options" not in headers
    assert 'src="/static/rooms/player.js"' in html and ">Listen</button>" in html
    status, _, js = run(request("GET", f"{server.url}/static/rooms/media.js"))
    assert status == 200 and "RTCPeerConnection" in js
    assert 'src="/static/rooms/media.js"' in html


def test_unknown_room_pages_are_404(server: ServerThread) -> None:
    assert run(request("GET", f"{server.url}/s/missing"))[0] == 404
    assert run(request("GET", f"{server.url}/s/missing/embed"))[0] == 404


def test_directory_lists_live_and_ended_rooms(server: ServerThread) -> None:
    _, live = create(server, {"title": "Live one", "topics": ["news"]})
    _, gone = create(server, {"title": "Gone one"})
    run(request("DELETE", f"{server.url}/api/rooms/{gone['id']}", token=host_token()))
    _, headers, atom = run(request("GET", f"{server.url}/rooms.atom"))
    assert headers["Content-Type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ET.fromstring(atom).findall("a:entry", ns)
    links = {e.find("a:link[@rel='alternate']", ns).get("href") for e in entries}
    assert links == {live["share_url"], gone["share_url"]}
    titles = {e.find("a:title", ns).text for e in entries}
    assert titles == {"[Live] Live one", "[Ended] Gone one"}
    _, _, sitemap = run(request("GET", f"{server.url}/sitemap.xml"))
    sm = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = {loc.text for loc in ET.fromstring(sitemap).findall("s:url/s:loc", sm)}
    assert locs == {live["share_url"], gone["share_url"]}


def test_portal_is_pinged_on_open_and_end(server: ServerThread) -> None:
    _, room = create(server, {"title": "Pinged"})
    run(request("DELETE", f"{server.url}/api/rooms/{room['id']}", token=host_token()))
    deadline = time.monotonic() + 5
    while len(server.pings) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.pings == [{"url": room["share_url"]}] * 2


def test_unreachable_portal_never_blocks_a_room(start_server: Any) -> None:
    server = start_server()
    server.call(server._runners[1].cleanup())  # the portal goes away
    started = time.monotonic()
    status, _ = create(server, {"title": "Alone"})
    assert status == 201 and time.monotonic() - started < 1.0
