"""Real crawls, in a child process, of loopback sites: safety limits and the catalog."""

from __future__ import annotations

import gzip

import pytest
from sqlalchemy import select

from bench.peers.sites import Site
from core.catalog.models import Sighting, Space
from core.config import Config
from core.search.base import SearchQuery
from core.services import Services
from tests.crawler.conftest import FAST
from worker.crawls import crawl, run_crawl

ROOM = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@type": "BroadcastEvent", "name": "{title}",
 "isLiveBroadcast": true, "startDate": "2026-01-01T10:00:00Z",
 "organizer": {{"@type": "Person", "name": "Ann Lee", "alternateName": "annlee"}}}}</script>
<link rel="alternate" type="application/json" href="/api/rooms/{id}"></head><body></body></html>"""


def links(*hrefs: str) -> str:
    return "<html><body>" + "".join(f'<a href="{h}">link {h}</a>' for h in hrefs) + "</body></html>"


def test_canary_receives_nothing_directly_by_redirect_or_by_spelling(
    site: Site, canary: Site, crawl_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = canary.port
    canary.routes["/"] = ROOM.format(title="Secret", id="s")
    # Every way in has its own URL so the duplicate filter cannot hide a leak.
    site.routes.update(
        {
            "/": links(
                f"{canary.url}/direct",
                f"http://2130706434:{port}/decimal",
                f"http://127.2:{port}/short",
                f"http://[::ffff:127.0.0.2]:{port}/mapped",
                "/go",
                "/hop1",
                "/refresh",
                "/ok",
            ),
            "/go": (302, {"Location": f"{canary.url}/redirected"}, b""),
            "/hop1": (301, {"Location": "/hop2"}, b""),
            "/hop2": (307, {"Location": f"http://0x7f000002:{port}/second-hop"}, b""),
            "/refresh": f'<meta http-equiv="refresh" content="0; url={canary.url}/refreshed">',
            "/ok": ROOM.format(title="Allowed", id="a"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, depth=2, settings=FAST)
    assert canary.requests == []
    assert {"/go", "/hop1", "/hop2", "/refresh", "/ok"} <= set(site.paths())
    refused = " ".join(report.refused_messages)
    for path in ("direct", "decimal", "short", "mapped", "redirected", "second-hop", "refreshed"):
        assert f"/{path}: " in refused, path
    assert "127.0.0.2 (loopback)" in refused
    assert [space["title"] for space in report.spaces] == ["Allowed"]


def test_a_proxy_does_not_bypass_the_guard(
    site: Site, canary: Site, crawl_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The allowed site doubles as the proxy: a proxied canary request would show up in
    # its log with the canary's full URL.
    site.routes["/"] = links(f"{canary.url}/")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", site.url)
    report = run_crawl([f"{site.url}/"], crawl_config, depth=1, settings=FAST)
    assert canary.requests == []
    assert site.requests and all(r.startswith("http://") for r in site.requests), "not proxied"
    assert not [r for r in site.requests if "127.0.0.2" in r]
    assert report.pages == 1 and report.refused == 1


def test_robots_txt_is_obeyed(site: Site, crawl_config: Config) -> None:
    site.routes.update(
        {
            "/robots.txt": (
                200,
                {"Content-Type": "text/plain"},
                b"User-agent: *\nDisallow: /private\n",
            ),
            "/": links("/private/room", "/public/room"),
            "/private/room": ROOM.format(title="Hidden", id="h"),
            "/public/room": ROOM.format(title="Open", id="o"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert "/private/room" not in site.paths()
    assert [space["title"] for space in report.spaces] == ["Open"]


def test_size_limit_applies_to_plain_and_decompressed_bodies(
    site: Site, crawl_config: Config
) -> None:
    big_room = ROOM.format(title="Huge", id="big") + "<!--" + "x" * (3 * 1024 * 1024) + "-->"
    bomb = gzip.compress(ROOM.format(title="Bomb", id="bomb").encode() + b" " * (8 * 1024 * 1024))
    assert len(bomb) < 100_000
    site.routes.update(
        {
            "/": links("/big", "/bomb", "/small"),
            "/big": big_room,
            "/bomb": (200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, bomb),
            "/small": ROOM.format(title="Small", id="small"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert [space["title"] for space in report.spaces] == ["Small"]
    assert report.errors == 2
    assert any("/bomb" in message for message in report.error_messages)


def test_depth_limit(site: Site, crawl_config: Config) -> None:
    site.routes.update({f"/p{n}": links(f"/p{n + 1}") for n in range(5)})
    run_crawl([f"{site.url}/p0"], crawl_config, depth=2, settings=FAST)
    assert sorted(p for p in site.paths() if p.startswith("/p")) == ["/p0", "/p1", "/p2"]


def test_bad_urls_get_a_clear_message_and_no_crawl(crawl_config: Config) -> None:
    lines: list[str] = []
    report = crawl(["ftp://example.org/x", "http://[::1"], crawl_config, progress=lines.append)
    assert report.pages == 0 and report.errors == 2
    assert "only http and https" in report.error_messages[0]
    assert "not a valid URL" in report.error_messages[1]
    assert all(line.startswith("error: ") for line in lines)


def test_crawl_lands_spaces_and_sightings_in_the_catalog(
    site: Site, crawl_config: Config, services: Services
) -> None:
    x_link = "https://mobile.twitter.com/i/spaces/1AbCdEfGhIjKl?s=20"
    site.routes.update(
        {
            "/": f"""<html><body><p>@birdnerd: <a href="{x_link}">Owls after dark</a></p>
                <a href="/s/r1?utm_source=home">Jazz tonight</a>
                <a href="/rooms.atom">directory</a></body></html>""",
            "/s/r1": ROOM.format(title="Late night jazz", id="r1"),
            "/s/r2": ROOM.format(title="Morning news", id="r2"),
            "/rooms.atom": (
                200,
                {"Content-Type": "application/atom+xml"},
                b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
                <entry><title>Late night jazz</title><link href="/s/r1"/></entry>
                <entry><title>Morning news</title><link href="/s/r2"/></entry></feed>""",
            ),
        }
    )
    lines: list[str] = []
    report = crawl([f"{site.url}/"], crawl_config, depth=2, progress=lines.append)
    assert report.errors == 0, report.error_messages
    assert report.pages == 4
    assert any(line.startswith("space live") for line in lines)
    with services.catalog.session() as session:
        spaces = {s.canonical_url: s for s in session.scalars(select(Space))}
        assert set(spaces) == {
            "https://x.com/i/spaces/1AbCdEfGhIjKl",
            f"{site.url}/s/r1",
            f"{site.url}/s/r2",
        }
        jazz = spaces[f"{site.url}/s/r1"]
        assert (jazz.platform, jazz.state, jazz.title) == ("rooms", "live", "Late night jazz")
        assert jazz.player_url == f"{site.url}/s/r1/embed"
        assert jazz.host.handle == "annlee"
        owls = spaces["https://x.com/i/spaces/1AbCdEfGhIjKl"]
        assert (owls.platform, owls.title, owls.host.handle) == ("x", "Owls after dark", "birdnerd")
        sightings = {
            (s.space.canonical_url, s.page_url, s.anchor_text)
            for s in session.scalars(select(Sighting))
        }
    assert (f"{site.url}/s/r1", f"{site.url}/", "Jazz tonight") in sightings
    assert (f"{site.url}/s/r2", f"{site.url}/rooms.atom", "Morning news") in sightings
    assert (owls.canonical_url, f"{site.url}/", "Owls after dark") in sightings
    hits = services.search.search(SearchQuery(q="jazz"))
    assert [hit.id for hit in hits.hits] == [jazz.id]

    # A second crawl of the same site changes nothing but the sightings' times.
    again = crawl([f"{site.url}/"], crawl_config, depth=2)
    assert len(again.spaces) == 3
    with services.catalog.session() as session:
        assert len(session.scalars(select(Space)).all()) == 3
        assert len(session.scalars(select(Sighting)).all()) == len(sightings)


def test_the_resolver_refuses_at_connect_time_even_without_the_middleware(
    site: Site, canary: Site, crawl_config: Config
) -> None:
    # The second line of defence, for names whose answer changes after the check.
    site.routes["/"] = links(f"{canary.url}/", f"http://127.2:{canary.port}/short")
    no_middleware = {**FAST, "DOWNLOADER_MIDDLEWARES": {"crawler.guard.GuardMiddleware": None}}
    report = run_crawl([f"{site.url}/"], crawl_config, settings=no_middleware)
    assert canary.requests == []
    assert report.pages == 1 and report.errors == 2
    # Twisted reports a refused answer as a failed lookup; the reason is in the crawl log.
    assert all("DNS lookup failed" in message for message in report.error_messages)


def test_the_portals_own_space_pages_are_not_listed_again(
    site: Site, crawl_config: Config, services: Services
) -> None:
    # A shared link to the portal's page of a space: the page describes the space in
    # JSON-LD for others, but the crawler must not list it a second time as ours.
    site.routes.update(
        {
            "/": '<html><body><a href="/spaces/12">Jazz on the portal</a></body></html>',
            "/spaces/12": ROOM.format(title="Late night jazz", id="r1"),
        }
    )
    report = crawl([f"{site.url}/"], crawl_config.with_(portal_url=site.url), depth=1)
    assert report.errors == 0, report.error_messages
    assert "/spaces/12" in site.paths()
    with services.catalog.session() as session:
        assert session.scalars(select(Space)).all() == []
    # Elsewhere the same page is a space like any other.
    crawl([f"{site.url}/"], crawl_config, depth=1)
    with services.catalog.session() as session:
        assert [s.title for s in session.scalars(select(Space))] == ["Late night jazz"]
