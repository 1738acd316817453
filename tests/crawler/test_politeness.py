"""Real crawls of loopback sites that watch how the crawler treats them.

Every figure is measured at the server: when each request arrived, what it carried,
and how many were in flight at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import Message
from email.utils import format_datetime

import pytest
from flask import Flask

from bench.peers.sites import Answer, Site
from core.config import Config
from core.redisconn import connect
from core.services import Services
from crawler.politeness import retry_after_seconds
from crawler.robots import RobotsStore, origin_of
from portal.app import create_app
from tests.crawler.conftest import FAST
from worker.crawls import run_crawl

ROOM = """<html><head><title>{title}</title>
<script type="application/ld+json">{{"@type": "BroadcastEvent", "name": "{title}",
 "isLiveBroadcast": true, "startDate": "2026-01-01T10:00:00Z"}}</script>
<link rel="alternate" type="application/json" href="/api/rooms/{id}"></head><body></body></html>"""
HTML = {"Content-Type": "text/html; charset=utf-8"}
TEXT = {"Content-Type": "text/plain"}


def links(*hrefs: str) -> str:
    return "<html><body>" + "".join(f'<a href="{h}">link {h}</a>' for h in hrefs) + "</body></html>"


class Clock:
    """Routes that note when each request arrived, and how many ran at once."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[str, float]] = []
        self.running = 0
        self.most = 0
        self.lock = threading.Lock()

    def route(
        self, path: str, answer: Answer | str | Callable[[Message], Answer], hold_s: float = 0.0
    ) -> Callable[[Message], Answer]:
        def serve(headers: Message) -> Answer:
            with self.lock:
                self.arrivals.append((path, time.monotonic()))
                self.running += 1
                self.most = max(self.most, self.running)
            time.sleep(hold_s)  # long enough for a second request to overlap, were it sent
            with self.lock:
                self.running -= 1
            if isinstance(answer, str):
                return 200, HTML, answer.encode()
            return answer(headers) if callable(answer) else answer

        return serve

    def times(self, path: str) -> list[float]:
        return [at for seen, at in self.arrivals if seen == path]


def test_crawl_delay_spaces_requests_to_the_host(site: Site, crawl_config: Config) -> None:
    clock = Clock()
    robots = b"User-agent: *\nCrawl-delay: 0.6\nDisallow: /private\n"
    site.routes["/robots.txt"] = (200, TEXT, robots)
    pages = [f"/p{n}" for n in range(4)]
    site.routes["/"] = clock.route("/", links(*pages))
    for path in pages:
        site.routes[path] = clock.route(path, "<p>hello</p>")
    run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    arrivals = sorted(at for _, at in clock.arrivals)
    assert len(arrivals) == 5
    gaps = [later - earlier for earlier, later in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) >= 0.55, gaps


def test_retry_after_holds_the_host_and_retries_once_after_it(
    site: Site, crawl_config: Config
) -> None:
    clock = Clock()
    answers = iter([(429, {**TEXT, "Retry-After": "2"}, b"slow down")])

    def busy(headers: Message) -> Answer:
        return next(answers, (200, HTML, ROOM.format(title="Busy room", id="b").encode()))

    site.routes.update(
        {
            "/": clock.route("/", links("/busy", "/calm")),
            "/busy": clock.route("/busy", busy),
            "/calm": clock.route("/calm", "<p>calm</p>"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    refused, retried = clock.times("/busy")
    # Nothing of the host is asked for within the two seconds it asked for.
    assert retried - refused >= 1.95
    assert all(not refused < at < refused + 1.95 for _, at in clock.arrivals)
    assert [space["title"] for space in report.spaces] == ["Busy room"]
    assert report.errors == 0, report.error_messages


def test_a_retry_after_past_the_limit_leaves_the_host_alone(
    site: Site, crawl_config: Config
) -> None:
    site.routes.update(
        {
            "/": links("/busy", "/later"),
            "/busy": (503, {**TEXT, "Retry-After": "3600"}, b"down for maintenance"),
            "/later": "<p>later</p>",
        }
    )
    started = time.monotonic()
    run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert time.monotonic() - started < 30
    assert site.paths().count("/busy") == 1
    # The link found before the 503 may already be on its way; none is sent after it.
    assert site.paths()[-1] in ("/busy", "/later")


def test_retry_after_is_read_as_seconds_or_as_a_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds("-5") is None


def test_missing_robots_txt_allows_every_page(site: Site, crawl_config: Config) -> None:
    site.routes.update({"/": links("/room"), "/room": ROOM.format(title="Open", id="o")})
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert site.paths() == ["/robots.txt", "/", "/room"]
    assert [space["title"] for space in report.spaces] == ["Open"]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_failing_robots_txt_closes_the_whole_site(
    site: Site, crawl_config: Config, status: int
) -> None:
    site.routes.update(
        {
            "/robots.txt": (status, TEXT, b"oops"),
            "/": links("/room"),
            "/room": ROOM.format(title="Closed", id="c"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert set(site.paths()) == {"/robots.txt"}
    assert report.pages == 0 and report.spaces == []
    assert f"robots.txt unreachable (HTTP {status})" in " ".join(report.error_messages)


def test_robots_txt_is_kept_for_a_day_across_crawls(site: Site, crawl_config: Config) -> None:
    site.routes.update(
        {
            "/robots.txt": (200, TEXT, b"User-agent: SpacesBot\nDisallow: /private\n"),
            "/": links("/private/room", "/public"),
            "/public": "<p>public</p>",
            "/private/room": ROOM.format(title="Hidden", id="h"),
        }
    )
    for _ in range(2):
        run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert site.paths().count("/robots.txt") == 1
    assert "/private/room" not in site.paths()

    # A day later the copy is stale: the file is asked for again, and a site that then
    # fails to answer is crawled by the copy it served before.
    store = RobotsStore(connect(crawl_config.redis_url, crawl_config.data_dir))
    origin = origin_of(site.url)
    kept = store.get(origin)
    assert kept is not None
    kept.fetched_at -= 86_400 + 60
    store.put(origin, kept)
    site.routes["/robots.txt"] = (500, TEXT, b"oops")
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert site.paths().count("/robots.txt") == 3  # once, and once more for the 500
    assert "/private/room" not in site.paths()
    assert report.pages == 1


def test_feeds_and_sitemaps_are_asked_for_conditionally(site: Site, crawl_config: Config) -> None:
    answers: list[tuple[str, int]] = []
    feed = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
        <entry><title>Owls</title><link href="https://x.com/i/spaces/1AbCdEfGhIjKl"/></entry>
        </feed>"""
    sitemap = b"""<?xml version="1.0"?>
        <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
        <url><loc>https://x.com/i/spaces/1ZyXwVuTsRqPo</loc></url></urlset>"""

    def validated(path: str, body: bytes, validators: dict[str, str]) -> Callable[..., Answer]:
        def serve(headers: Message) -> Answer:
            asked = {"ETag": "If-None-Match", "Last-Modified": "If-Modified-Since"}
            fresh = any(headers.get(asked[name]) == value for name, value in validators.items())
            status = 304 if fresh else 200
            answers.append((path, status))
            return status, {"Content-Type": "application/xml", **validators}, b"" if fresh else body

        return serve

    site.routes["/feed.xml"] = validated("/feed.xml", feed, {"ETag": '"f1"'})
    modified = {"Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
    site.routes["/sitemap.xml"] = validated("/sitemap.xml", sitemap, modified)
    for kind, path in (("feed", "/feed.xml"), ("sitemap", "/sitemap.xml")):
        first = run_crawl([f"{site.url}{path}"], crawl_config, kind=kind, settings=FAST)
        again = run_crawl([f"{site.url}{path}"], crawl_config, kind=kind, settings=FAST)
        assert len(first.spaces) == 1 and again.errors == 0
    assert answers == [("/feed.xml", 200), ("/feed.xml", 304)] + [
        ("/sitemap.xml", 200),
        ("/sitemap.xml", 304),
    ]


def test_every_request_names_the_bot_and_its_page(site: Site, crawl_config: Config) -> None:
    agents: list[str] = []

    def robots(headers: Message) -> Answer:
        agents.append(headers.get("User-Agent", ""))
        return 404, TEXT, b""

    def page(headers: Message) -> Answer:
        agents.append(headers.get("User-Agent", ""))
        return 200, HTML, b"<p>hi</p>"

    site.routes.update({"/robots.txt": robots, "/": page})
    config = crawl_config.with_(portal_url="https://spaces.example")
    run_crawl([f"{site.url}/"], config, settings=FAST)
    assert agents == ["SpacesBot/1.0 (+https://spaces.example/about/bot)"] * 2
    assert agents[0] == config.user_agent


def test_the_portal_explains_the_bot(services: Services) -> None:
    app: Flask = create_app(services.config, services)
    response = app.test_client().get("/about/bot")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert services.config.user_agent in page
    assert "User-agent: SpacesBot" in page and "Disallow: /" in page
    assert "Crawl-delay" in page and "Retry-After" in page


def test_one_request_at_a_time_per_host_and_hosts_in_parallel(
    crawl_config: Config,
) -> None:
    clocks = {host: Clock() for host in ("127.0.0.1", "127.0.0.3")}
    sites = {host: Site(host).start() for host in clocks}
    try:
        for host, site in sites.items():
            pages = [f"/p{n}" for n in range(5)]
            site.routes["/"] = clocks[host].route("/", links(*pages), hold_s=0.1)
            for path in pages:
                site.routes[path] = clocks[host].route(path, "<p>x</p>", hold_s=0.2)
        config = crawl_config.with_(crawl_allow=tuple(clocks))
        run_crawl([f"{site.url}/" for site in sites.values()], config, settings=FAST)
    finally:
        for site in sites.values():
            site.stop()
    assert all(len(clock.arrivals) == 6 for clock in clocks.values())
    assert [clock.most for clock in clocks.values()] == [1, 1], [
        c.arrivals for c in clocks.values()
    ]
    # The two hosts were crawled side by side, not one after the other.
    first, second = ([at for _, at in clock.arrivals] for clock in clocks.values())
    assert min(second) < max(first) and min(first) < max(second)
