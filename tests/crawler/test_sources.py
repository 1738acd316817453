"""Sources: pings and submissions are crawled ahead of scheduled work; recrawl queues now."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from bench.peers.sites import Site
from core.catalog.models import Source
from core.catalog.sources import add_source, recrawl_source
from core.config import Config
from core.queues import ALL_QUEUES, CRAWL, enqueue_source_crawl, enqueue_url_crawl, queue
from core.services import Services
from core.timeutil import utcnow
from tests.crawler.test_crawl import ROOM
from worker import context
from worker.jobs import crawl_source, schedule_sources
from worker.run import HeartbeatWorker


@pytest.fixture
def installed(services: Services, crawl_config: Config) -> Iterator[Services]:
    # The same Redis the configuration names, so the CLI and the test see one queue.
    built = context.install(dataclasses.replace(services, config=crawl_config))
    yield built
    context.reset()


def test_a_ping_queued_after_scheduled_crawls_is_crawled_first(
    site: Site, installed: Services
) -> None:
    site.routes.update({f"/s/{n}": ROOM.format(title=f"Room {n}", id=n) for n in "abc"})
    with installed.catalog.session() as session:
        ids = [add_source(session, f"{site.url}/s/{n}", depth=0).id for n in "ab"]
    for source_id in ids:
        assert enqueue_source_crawl(installed, source_id) is not None
    assert enqueue_url_crawl(installed, f"{site.url}/s/c", reason="ping") is not None
    worker = HeartbeatWorker(
        [queue(installed, name) for name in ALL_QUEUES], connection=installed.redis, ttl_s=30
    )
    worker.work(burst=True)
    pages = [path for path in site.paths() if path.startswith("/s/")]
    assert pages == ["/s/c", "/s/a", "/s/b"]
    with installed.catalog.session() as session:
        assert all(session.get(Source, i).last_spaces == 1 for i in ids)
        assert all(session.get(Source, i).last_duration_s > 0 for i in ids)


def test_recrawl_makes_a_source_due_now_and_queues_it(
    site: Site, installed: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spaces.cli import main

    with installed.catalog.session() as session:
        source = add_source(session, f"{site.url}/", now=utcnow())
        source.next_run_at = None  # as if queued and held by the scheduler
        source_id = source.id
    for key, value in installed.config.child_env().items():
        monkeypatch.setenv(key, value)
    assert main(["sources", "recrawl", f"{site.url}/"]) == 0
    assert queue(installed, CRAWL).get_job_ids() == [f"crawl-source-{source_id}"]
    with installed.catalog.session() as session:
        assert session.get(Source, source_id).next_run_at is not None
        assert recrawl_source(session, "http://nowhere.example/") is None
    assert main(["sources", "recrawl", "http://nowhere.example/"]) == 1


def test_a_sources_kind_says_how_its_page_is_read(site: Site, installed: Services) -> None:
    # An RSS feed a server labels as plain text, with a comment before its root element:
    # nothing about it says "feed" but the kind its admin gave it. Its item's link is
    # relative: read as a feed it is the room; read as text it is no address at all.
    rss = (
        "<!-- generated --><rss><channel>"
        "<item><title>Jazz</title><link>/s/j</link></item></channel></rss>"
    )
    site.routes.update(
        {
            "/listed": (200, {"Content-Type": "text/plain"}, rss.encode()),
            "/s/j": ROOM.format(title="Jazz", id="j"),
        }
    )
    with installed.catalog.session() as session:
        as_feed = add_source(session, f"{site.url}/listed", kind="feed").id
    crawl_source(as_feed)
    with installed.catalog.session() as session:
        assert session.get(Source, as_feed).last_spaces == 1
        # The same address as a page: read as whatever it looks like, it links nowhere.
        as_page = add_source(session, f"{site.url}/listed", kind="page").id
    assert as_page == as_feed
    crawl_source(as_page)
    with installed.catalog.session() as session:
        assert session.get(Source, as_page).last_spaces == 0


def test_a_failing_page_source_keeps_its_reason(site: Site, installed: Services) -> None:
    site.routes.update(
        {
            "/robots.txt": (
                200,
                {"Content-Type": "text/plain"},
                b"User-agent: *\nDisallow: /closed",
            ),
            "/broken": (500, {"Content-Type": "text/html"}, b"<h1>oops</h1>"),
            "/s/ok": ROOM.format(title="Fine", id="ok"),
        }
    )
    cases = {
        f"{site.url}/missing": ("gone", 404),
        f"{site.url}/broken": ("http_5xx", 500),
        f"{site.url}/closed/page": ("robots", 0),
        "http://nowhere.invalid/": ("dns", 0),
        f"http://127.0.0.2:{site.port}/": ("blocked_address", 0),
        f"{site.url}/s/ok": ("", 200),
    }
    with installed.catalog.session() as session:
        ids = {url: add_source(session, url, kind="page", depth=0).id for url in cases}
    for source_id in ids.values():
        crawl_source(source_id)
    with installed.catalog.session() as session:
        seen = {url: session.get(Source, source_id) for url, source_id in ids.items()}
        got = {url: (source.reason, source.last_status) for url, source in seen.items()}
        assert got == cases
        failing = [source for url, source in seen.items() if cases[url][0]]
        assert all(source.failures == 1 and source.last_ok_at is None for source in failing)
        assert seen[f"{site.url}/s/ok"].last_ok_at is not None


def test_due_web_sources_read_alike_are_crawled_together_each_keeping_its_figures(
    site: Site, installed: Services
) -> None:
    rss = (
        f"<rss><channel><item><title>B1</title><link>{site.url}/s/b1</link></item></channel></rss>"
    )
    site.routes.update(
        {
            "/a": '<p><a href="/s/a1">one</a> <a href="/s/a2">two</a></p>',
            "/b": '<p><a href="/s/b1">three</a></p>',
            "/gone": (404, {"Content-Type": "text/html"}, b"no"),
            "/feed.xml": (200, {"Content-Type": "application/rss+xml"}, rss.encode()),
            **{f"/s/{n}": ROOM.format(title=f"Room {n}", id=n) for n in ("a1", "a2", "b1")},
        }
    )
    with installed.catalog.session() as session:
        pages = [add_source(session, f"{site.url}/{p}", depth=1).id for p in ("a", "b", "gone")]
        feed = add_source(session, f"{site.url}/feed.xml", kind="feed", depth=1).id
    # The three pages go to one crawler process; the feed, read otherwise, to its own.
    assert schedule_sources() == 2
    jobs = sorted(queue(installed, CRAWL).get_job_ids())
    assert jobs[0] == f"crawl-source-{feed}" and jobs[1].startswith("crawl-sources-")
    HeartbeatWorker([queue(installed, CRAWL)], connection=installed.redis, ttl_s=30).work(
        burst=True
    )
    with installed.catalog.session() as session:
        a, b, gone, listed = (session.get(Source, n) for n in (*pages, feed))
        assert (a.last_pages, a.last_spaces, a.reason, a.last_status) == (3, 2, "", 200)
        assert (b.last_pages, b.last_spaces, b.reason) == (2, 1, "")
        assert (gone.last_spaces, gone.reason, gone.last_status, gone.failures) == (
            0,
            "gone",
            404,
            1,
        )
        assert (listed.last_spaces, listed.reason) == (1, "")
