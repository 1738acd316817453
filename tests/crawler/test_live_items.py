"""A podcast's live show, from its feed to the catalog, and its state as the feed changes."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bench.peers.sites import Site
from core.catalog.models import Space
from core.config import Config
from core.services import Services
from tests.core.platforms.test_podcast import RSS, live_item, podcast_feed
from tests.crawler.conftest import FAST
from worker import context, httppool
from worker.crawls import run_crawl
from worker.liveness_jobs import check_spaces


@pytest.fixture
def installed(services: Services, crawl_config: Config) -> Iterator[Services]:
    """Services for jobs, allowed to reach the feed on 127.0.0.1."""
    built = context.install(dataclasses.replace(services, config=crawl_config))
    yield built
    context.reset()
    httppool.close()  # its connections belong to this test's servers


def serve(site: Site, status: str) -> None:
    """Serve the podcast's feed with its live show in `status`."""
    body = podcast_feed(live_item(status, "jazz-live-1", title="Jazz hour, live"))
    site.routes["/feed.xml"] = (200, {"Content-Type": RSS}, body.encode())


def load(services: Services) -> Space:
    with services.catalog.session() as session:
        space = session.scalars(select(Space)).one()
        session.expunge(space)
        return space


def test_a_live_show_is_crawled_scheduled_then_checked_live_and_ended(
    site: Site, installed: Services
) -> None:
    feed = f"{site.url}/feed.xml"
    show = f"{feed}#jazz-live-1"
    serve(site, "pending")
    report = run_crawl([feed], installed.config, depth=0, kind="feed", settings=FAST)
    assert [(s["url"], s["state"]) for s in report.spaces] == [(show, "scheduled")]
    space = load(installed)
    assert (space.platform, space.state, space.title) == ("podcast", "scheduled", "Jazz hour, live")
    assert space.status_url == feed
    assert space.scheduled_start == datetime(2026, 11, 23, 15, tzinfo=UTC)

    serve(site, "live")
    assert check_spaces([space.id])["changed"] == 1
    space = load(installed)
    assert (space.state, space.started_at) == ("live", datetime(2026, 11, 23, 15, tzinfo=UTC))

    serve(site, "ended")
    assert check_spaces([space.id])["changed"] == 1
    space = load(installed)
    assert (space.state, space.ended_at) == ("ended", datetime(2026, 11, 23, 16, tzinfo=UTC))
    check_spaces([space.id])
    assert load(installed).next_check_at is None  # ended, and checked once more: done
    assert site.paths().count("/feed.xml") == 4


def test_a_show_dropped_from_its_feed_has_ended(site: Site, installed: Services) -> None:
    feed = f"{site.url}/feed.xml"
    serve(site, "live")
    run_crawl([feed], installed.config, depth=0, kind="feed", settings=FAST)
    space = load(installed)
    assert space.state == "live"
    # Published as an ordinary episode now: the live item is gone from the feed.
    site.routes["/feed.xml"] = (200, {"Content-Type": RSS}, podcast_feed().encode())
    check_spaces([space.id])
    assert load(installed).state == "ended"
