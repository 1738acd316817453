"""Two crawler processes share one frontier in Redis: each page is fetched once in all."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from bench.peers.sites import Site
from core.catalog.models import Sighting, Space
from core.config import Config
from core.services import Services
from tests.crawler.conftest import FAST
from tests.crawler.test_crawl import ROOM, links
from worker.crawls import run_crawl

PAGES = 150


def corpus(site: Site) -> None:
    """A tree of pages, each also linking to pages elsewhere, so both processes see repeats."""
    for n in range(PAGES):
        children = [f"/p/{c}" for c in range(3 * n + 1, min(3 * n + 4, PAGES))]
        others = [f"/p/{(n * 7 + k) % PAGES}" for k in (1, 2)]
        site.routes[f"/p/{n}"] = links(*children, *others, f"/s/r{n % 20}")
    for n in range(20):
        site.routes[f"/s/r{n}"] = ROOM.format(title=f"Room {n}", id=f"r{n}")


def test_two_processes_fetch_each_page_once(
    site: Site, crawl_config: Config, services: Services
) -> None:
    corpus(site)
    config = crawl_config.with_(crawl_distributed=True)
    report = run_crawl(
        [f"{site.url}/p/0"],
        config,
        depth=10,
        processes=2,
        settings={**FAST, "CONCURRENT_REQUESTS_PER_DOMAIN": 2},
    )
    assert report.errors == 0, report.error_messages
    counts = Counter(site.paths())
    counts.pop("/robots.txt", None)  # each process asks once: robots.txt is per process
    assert len(counts) == PAGES + 20
    # Each process alone would fetch every page: a count of 2 is a frontier not shared.
    assert set(counts.values()) == {1}, [p for p, c in counts.items() if c > 1]
    assert len(report.pages_by_process) == 2 and all(report.pages_by_process)
    assert sum(report.pages_by_process) == PAGES + 20
    with services.catalog.session() as session:
        assert session.scalar(select(func.count(Space.id))) == 20
        # Every page links to one room: each is a sighting, whichever process fetched
        # the page, the room, or neither yet when the link was read.
        sightings = session.execute(
            select(Space.title, func.count(Sighting.id)).join(Sighting).group_by(Space.title)
        ).all()
    expected = Counter(f"Room {n % 20}" for n in range(PAGES))
    assert dict(sightings) == dict(expected)
