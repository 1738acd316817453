"""Hostile sites on loopback: slow drips, link mazes, long redirect chains, rebinding DNS."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler

from bench.peers.sites import Drip, Site
from core.config import Config
from core.services import Services
from crawler import robots
from tests.crawler.conftest import FAST
from tests.crawler.rebinding import NAME
from tests.crawler.test_crawl import ROOM, links
from worker.crawls import run_crawl


def test_a_slow_drip_is_ended_by_the_timeout(site: Site, crawl_config: Config) -> None:
    site.routes.update(
        {
            "/": links("/drip", "/ok"),
            "/drip": Drip(ROOM.format(title="Drip", id="d").encode(), every_s=1.0),
            "/ok": ROOM.format(title="Quick", id="q"),
        }
    )
    started = time.monotonic()
    report = run_crawl(
        [f"{site.url}/"],
        crawl_config,
        settings={**FAST, "DOWNLOAD_TIMEOUT": 2, "RETRY_ENABLED": False},
    )
    assert time.monotonic() - started < 20
    assert [space["title"] for space in report.spaces] == ["Quick"]
    assert any("/drip" in m and "took longer than 2" in m for m in report.error_messages)


class MazeSite(Site):
    """A site whose /maze/<path> pages each link to ten new pages below them."""

    def start(self) -> Site:
        started = super().start()
        server = self.server
        assert server is not None
        handler = server.RequestHandlerClass
        original = handler.do_GET  # type: ignore[attr-defined]  # typeshed: a factory, not a class

        def do_get(request: BaseHTTPRequestHandler) -> None:
            path = request.path
            if path.startswith("/maze"):
                base = path.rstrip("/")
                self.routes[path] = links(*(f"{base}/{n}" for n in range(10)))
            original(request)

        handler.do_GET = do_get  # type: ignore[attr-defined]  # the same: typeshed sees a factory
        return started


def test_a_link_maze_is_stopped_by_depth_and_by_the_page_budget(crawl_config: Config) -> None:
    site = MazeSite("127.0.0.1").start()
    try:
        run_crawl([f"{site.url}/maze"], crawl_config, depth=2, settings=FAST)
        pages = [p for p in site.paths() if p.startswith("/maze")]
        assert len(pages) == 1 + 10 + 100
        assert max(p.count("/") for p in pages) == 3  # /maze/a/b: two links deep

        site.requests.clear()
        report = run_crawl(
            [f"{site.url}/maze/x"],
            crawl_config,
            depth=50,
            settings={**FAST, "SPACES_MAX_PAGES_PER_DOMAIN": 40},
        )
        pages = [p for p in site.paths() if p.startswith("/maze")]
        assert len(pages) <= 40 and report.pages <= 40
        assert report.skipped > 0
    finally:
        site.stop()


def test_at_most_five_redirects_are_followed(site: Site, crawl_config: Config) -> None:
    for chain, hops in (("a", 5), ("b", 6)):
        for n in range(hops):
            site.routes[f"/{chain}{n}"] = (302, {"Location": f"/{chain}{n + 1}"}, b"")
        site.routes[f"/{chain}{hops}"] = ROOM.format(title=f"End {chain}", id=chain)
    site.routes["/"] = links("/a0", "/b0")
    report = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert "/a5" in site.paths() and "/b6" not in site.paths()
    assert [space["title"] for space in report.spaces] == ["End a"]
    assert [space["url"] for space in report.spaces] == [f"{site.url}/a5"]


def test_a_name_that_rebinds_to_loopback_after_the_check_is_refused(
    site: Site, canary: Site, crawl_config: Config, services: Services
) -> None:
    canary.routes["/"] = ROOM.format(title="Secret", id="s")
    site.routes["/"] = links(f"http://{NAME}:{canary.port}/")
    rebinding = {**FAST, "EXTENSIONS": {"tests.crawler.rebinding.Rebinding": 0}}
    report = run_crawl([f"{site.url}/"], crawl_config, settings=rebinding)
    assert canary.requests == []
    assert report.refused == 0, "the middleware was shown a public address"
    assert report.errors == 1 and "DNS lookup failed" in report.error_messages[0]

    # The same crawl with Scrapy's own resolver reaches the canary: the test can fail.
    # (The first crawl found the name's robots.txt unreachable; that is forgotten.)
    for key in services.redis.scan_iter(f"{robots.KEY_PREFIX}*"):
        services.redis.delete(key)
    unguarded = {**rebinding, "TWISTED_DNS_RESOLVER": "scrapy.resolver.CachingThreadedResolver"}
    run_crawl([f"{site.url}/"], crawl_config, settings=unguarded)
    assert "/" in canary.requests
