"""One space, many URLs: crawls of the real room server through aliases, redirects, trackers.

A room reached as `localhost` and as `127.0.0.1`, through a short link or with tracking
parameters, is one listing with a sighting per sharing page; trending counts the shares
first seen in its window, and the portal's home page shows the space once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from bench.peers.sites import Site
from core.catalog.models import Sighting, Space
from core.config import Config
from core.services import Services
from core.timeutil import utcnow
from portal.app import create_app
from portal.queries import share_counts, trending
from tests.crawler.conftest import FAST
from tests.crawler.roomserver import RoomServer
from worker.crawls import run_crawl

#: Every start page fetched again on each crawl, so a re-crawl sees its links again.
AGAIN = {**FAST, "SPACES_REVISIT_ENABLED": False}


@pytest.fixture
def rooms(tmp_path: Path) -> Iterator[RoomServer]:
    server = RoomServer(tmp_path / "rooms-var").start()
    yield server
    server.stop()


@pytest.fixture
def both_names(crawl_config: Config) -> Config:
    """The crawl may reach this machine by its address and by its name."""
    return crawl_config.with_(crawl_allow=("127.0.0.1", "localhost"))


def page(*links: tuple[str, str]) -> str:
    body = "".join(f'<p><a href="{href}">{text}</a></p>' for href, text in links)
    return f"<html><body>{body}</body></html>"


def alias(room_url: str) -> str:
    return room_url.replace("://127.0.0.1:", "://localhost:")


def spaces_and_sightings(services: Services) -> tuple[list[Space], set[tuple[str, str]]]:
    with services.catalog.session() as session:
        spaces = list(session.scalars(select(Space)).unique())
        seen = {(s.space.canonical_url, s.page_url) for s in session.scalars(select(Sighting))}
        session.expunge_all()
    return spaces, seen


def open_jazz(rooms: RoomServer) -> dict[str, Any]:
    return rooms.open_room("ann", "Ann Lee", title="Late night jazz", topics=["jazz"])


def test_a_room_read_at_localhost_and_at_127_0_0_1_is_one_listing(
    rooms: RoomServer, both_names: Config, services: Services
) -> None:
    room = open_jazz(rooms)
    share_url = room["share_url"]
    assert share_url.startswith("http://127.0.0.1:")
    # Submitted both ways, the way a host might paste it.
    for url in (alias(share_url), share_url, alias(share_url) + "?utm_source=chat"):
        report = run_crawl([url], both_names, settings=FAST)
        assert report.errors == 0 and report.refused == 0, report.error_messages
    spaces, _ = spaces_and_sightings(services)
    assert [s.canonical_url for s in spaces] == [share_url]
    jazz = spaces[0]
    assert (jazz.state, jazz.title) == ("live", "Late night jazz")
    assert jazz.host is not None and jazz.host.handle == "ann"
    assert jazz.status_url == f"{rooms.url}/api/rooms/{room['id']}"
    assert jazz.player_url == share_url + "/embed"


def test_aliases_redirects_and_trackers_are_one_listing_with_a_sighting_each(
    rooms: RoomServer, site: Site, both_names: Config, services: Services
) -> None:
    share_url = open_jazz(rooms)["share_url"]
    site.routes.update(
        {
            "/a": page((share_url, "Jazz tonight")),
            "/b": page((alias(share_url) + "#listen", "Jazz, by name")),
            "/c": page((f"{share_url}?utm_source=newsletter&fbclid=Z1&ref=digest", "Jazz")),
            "/d": page(("/go/jazz", "Jazz, short")),
            "/go/jazz": (302, {"Location": alias(share_url) + "?utm_medium=short"}, b""),
        }
    )
    pages = [f"{site.url}/{name}" for name in "abcd"]
    report = run_crawl(pages, both_names, depth=2, settings=FAST)
    assert report.errors == 0 and report.refused == 0, report.error_messages
    spaces, seen = spaces_and_sightings(services)
    assert [s.canonical_url for s in spaces] == [share_url]
    assert seen == {(share_url, url) for url in pages}


def test_trending_counts_shares_first_seen_in_its_window(
    rooms: RoomServer, site: Site, both_names: Config, services: Services
) -> None:
    share_url = open_jazz(rooms)["share_url"]
    site.routes.update(
        {
            "/old1": page((share_url, "Jazz")),
            "/old2": page((alias(share_url), "Jazz")),
            "/new": page((share_url + "?utm_source=new", "Jazz, again")),
        }
    )
    old = [f"{site.url}/old1", f"{site.url}/old2"]
    report = run_crawl(old, both_names, depth=2, settings=AGAIN)
    assert report.errors == 0, report.error_messages
    days_ago = utcnow() - timedelta(days=2)
    with services.catalog.session() as session:
        session.execute(update(Sighting).values(first_seen=days_ago, last_seen=days_ago))
    # Both old pages still show the link: seen again, they are not new shares.
    report = run_crawl([*old, f"{site.url}/new"], both_names, depth=2, settings=AGAIN)
    assert report.errors == 0, report.error_messages
    with services.catalog.session() as session:
        rows = list(session.scalars(select(Sighting)))
        assert len(rows) == 3 and all(row.last_seen > days_ago for row in rows)
        (space, shares), *rest = trending(session, utcnow())
        assert rest == [] and space.canonical_url == share_url and shares == 1
        assert share_counts(session, [space.id]) == {space.id: 3}


def test_the_home_page_shows_a_space_shared_by_two_names_once(
    rooms: RoomServer, site: Site, both_names: Config, services: Services
) -> None:
    share_url = open_jazz(rooms)["share_url"]
    site.routes.update(
        {"/a": page((share_url, "Jazz")), "/b": page((alias(share_url), "Jazz by name"))}
    )
    pages = [f"{site.url}/a", f"{site.url}/b"]
    report = run_crawl(pages, both_names, depth=2, settings=FAST)
    assert report.errors == 0, report.error_messages
    client = create_app(services.config, services).test_client()
    html = client.get("/").get_data(as_text=True)
    listed = html.split('id="trending"')[1]
    assert "Late night jazz" in listed
    assert len(set(re.findall(r'href="/spaces/(\d+)', listed))) == 1
    assert "shared on <strong>2</strong> pages" in listed
