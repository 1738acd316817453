"""The registry: each page, link and space goes to the platform that knows it."""

from __future__ import annotations

import json

from core.config import Config
from core.platforms import registry
from core.platforms.rooms import RoomServer
from core.platforms.web import EventPage
from core.platforms.x import XSpaces

EVENT = json.dumps({"@type": "BroadcastEvent", "name": "Talk", "isLiveBroadcast": True})
EVENT_PAGE = f'<html><script type="application/ld+json">{EVENT}</script></html>'
ROOM_PAGE = EVENT_PAGE.replace(
    "</html>", '<link rel="alternate" type="application/json" href="/api/rooms/r1"></html>'
)


class Row:
    """A space as the liveness job reads it."""

    def __init__(self, url: str, status_url: str = "") -> None:
        self.id, self.url, self.status_url = 7, url, status_url


def test_every_platform_has_its_own_name_and_unknown_names_get_the_generic_one() -> None:
    names = [platform.name for platform in registry.PLATFORMS]
    assert len(names) == len(set(names)) and {"rooms", "x", "web"} <= set(names)
    assert isinstance(registry.get("x"), XSpaces)
    assert isinstance(registry.get("rooms"), RoomServer)
    assert isinstance(registry.get("no-such-platform"), EventPage)


def test_pages_go_to_the_most_specific_platform_that_knows_them() -> None:
    room = registry.read_page(ROOM_PAGE, "https://rooms.example/s/r1")
    event = registry.read_page(EVENT_PAGE, "https://club.example/e/1")
    assert room is not None and room.platform == "rooms"
    assert room.status_url == "https://rooms.example/api/rooms/r1"
    assert event is not None and (event.platform, event.status_url) == ("web", "")
    assert registry.read_page("<html><p>no space here</p></html>", "https://a.example/") is None


def test_links_are_recognised_by_address_and_x_pages_are_never_fetched() -> None:
    found = registry.recognise("https://twitter.com/i/spaces/1AbCdEfGhIjKl?s=20")
    assert found is not None
    platform, link = found
    assert (platform.name, link) == ("x", "https://x.com/i/spaces/1AbCdEfGhIjKl")
    assert registry.recognise("https://rooms.example/s/r1") is None
    assert not registry.fetchable("https://x.com/annlee")
    assert registry.fetchable("https://rooms.example/s/r1")
    assert registry.canonical_url("/i/spaces/1AbCdEfGhIjKl", "https://x.com/home") == link
    assert registry.canonical_url("/s/r1?utm_source=a", "https://r.example/") == (
        "https://r.example/s/r1"
    )


def test_each_platform_says_how_its_spaces_are_checked(tmp_path) -> None:
    config = Config(data_dir=tmp_path, database_url="sqlite://")
    status = registry.get("rooms").probe(
        Row("https://r.example/s/1", "https://r.example/api/rooms/1"), config
    )
    assert status is not None and (status.how, status.target) == (
        "status",
        "https://r.example/api/rooms/1",
    )
    page = registry.get("web").probe(Row("https://club.example/e/1"), config)
    assert page is not None and (page.how, page.target) == ("page", "https://club.example/e/1")
    x_space = Row("https://x.com/i/spaces/1AbCdEfGhIjKl")
    # Without an X API token nothing here can check an X Space.
    assert registry.get("x").probe(x_space, config) is None
    with_token = registry.get("x").probe(x_space, config.with_(x_bearer_token="t"))
    assert with_token is not None and (with_token.how, with_token.target) == ("x", "1AbCdEfGhIjKl")


def test_how_the_portal_shows_each_platform() -> None:
    assert registry.get("rooms").embeds_player
    assert not registry.get("x").embeds_player and not registry.get("web").embeds_player
    assert registry.get("x").listen_label == "Listen on X"
    assert registry.get("web").listen_label == "Open space"
