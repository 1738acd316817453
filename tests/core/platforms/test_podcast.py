"""Podcast live shows: Podcasting 2.0 live items read from feeds and checked in them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
import redis

from bench.peers.sites import Site
from core.catalog.records import Observation
from core.catalog.states import State
from core.config import Config
from core.extract.feeds import LiveItem, parse_feed
from core.platforms import registry
from core.platforms.base import Checking, Outcome, Probe
from core.platforms.podcast import FeedProbe, Podcast, live_records, record_from_live_item
from core.webfetch import Fetcher

FEED_URL = "https://pod.example/feed.xml?utm_source=x"
RSS = "application/rss+xml; charset=utf-8"
#: The platform reads no settings: any configuration does.
CONFIG = Config(data_dir=Path("var"), database_url="sqlite://")


def live_item(
    status: str,
    guid: str,
    *,
    title: str = "Jazz hour, live",
    link: str = "",
    start: str = "2026-11-23T10:00:00.000-05:00",
    end: str = "2026-11-23T11:00:00.000-05:00",
    content_link: str = "",
) -> str:
    """Return a `<podcast:liveItem>` as the namespace documents it."""
    page = f"<link>{link}</link>" if link else ""
    if content_link:
        page += f'<podcast:contentLink href="{content_link}">Watch the video</podcast:contentLink>'
    return f"""<podcast:liveItem status="{status}" start="{start}" end="{end}">
      <title>{title}</title>
      <description><![CDATA[<p>Live from the studio. #Jazz #Live</p>]]></description>
      {page}<guid isPermaLink="false">{guid}</guid>
      <enclosure url="https://stream.pod.example/live.mp3" type="audio/mpeg" length="312"/>
    </podcast:liveItem>"""


def podcast_feed(*items: str) -> str:
    """Return a podcast's RSS feed holding these live (or ordinary) items."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
  <channel><title>Jazz Cast</title><link>https://pod.example/</link>
    <description>A podcast about jazz</description>
    {"".join(items)}
    <item><title>Episode 1</title><guid>ep-1</guid>
      <enclosure url="https://pod.example/ep1.mp3" type="audio/mpeg" length="1"/></item>
  </channel></rss>"""


def test_a_pending_show_is_scheduled_and_known_by_its_page() -> None:
    item = LiveItem(
        "pending",
        start=datetime(2026, 11, 23, 15, tzinfo=UTC),
        end=datetime(2026, 11, 23, 16, tzinfo=UTC),
        title="Jazz hour, live",
        url="https://pod.example/live?utm_campaign=feed",
        guid="show-1",
        description="Live from the studio #jazz",
    )
    record = record_from_live_item(item, FEED_URL, recognise=registry.recognise)
    assert (record.url, record.platform, record.state) == (
        "https://pod.example/live",
        "podcast",
        State.SCHEDULED,
    )
    assert record.status_url == "https://pod.example/feed.xml"
    assert record.scheduled_start == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert (record.started_at, record.ended_at) == (None, None)
    assert (record.title, record.topics, record.provisional) == ("Jazz hour, live", ["jazz"], False)


def test_live_and_ended_shows_carry_their_times() -> None:
    start, end = datetime(2026, 11, 23, 15, tzinfo=UTC), datetime(2026, 11, 23, 16, tzinfo=UTC)
    live = record_from_live_item(
        LiveItem("live", start, end, guid="g"), FEED_URL, recognise=registry.recognise
    )
    assert (live.state, live.started_at, live.ended_at) == (State.LIVE, start, None)
    ended = record_from_live_item(
        LiveItem("ended", start, end, guid="g"), FEED_URL, recognise=registry.recognise
    )
    assert (ended.state, ended.started_at, ended.ended_at) == (State.ENDED, start, end)
    assert (
        record_from_live_item(
            LiveItem("paused", guid="g"), FEED_URL, recognise=registry.recognise
        ).state
        is None
    )


def test_a_show_without_a_page_is_the_feed_and_its_guid() -> None:
    record = record_from_live_item(
        LiveItem("live", guid="urn:uuid:1 2#3"), FEED_URL, recognise=registry.recognise
    )
    assert record.url == "https://pod.example/feed.xml#urn%3Auuid%3A1%202%233"
    assert registry.get(record.platform).name == "podcast"
    with pytest.raises(ValueError):
        record_from_live_item(LiveItem("live"), FEED_URL, recognise=registry.recognise)


def test_a_show_held_on_x_is_that_x_space_without_a_state() -> None:
    item = LiveItem("live", title="Live on X", url="https://twitter.com/i/spaces/1AbCdEfGhIjKl")
    record = record_from_live_item(item, FEED_URL, recognise=registry.recognise)
    assert (record.url, record.platform) == ("https://x.com/i/spaces/1AbCdEfGhIjKl", "x")
    assert record.provisional and record.state is None and record.status_url == ""


def test_live_records_of_a_parsed_feed() -> None:
    body = podcast_feed(
        live_item("pending", "show-1"),
        live_item("live", "show-2", link="https://pod.example/live/2"),
        live_item("live", "show-2", link="https://pod.example/live/2"),  # repeated: one space
        live_item("live", "show-3", content_link="https://video.example/watch?v=3"),
        """<podcast:liveItem status="live"><title>No address</title></podcast:liveItem>""",
    )
    records = live_records(parse_feed(body, FEED_URL), FEED_URL, recognise=registry.recognise)
    assert [(r.url, r.state) for r in records] == [
        ("https://pod.example/feed.xml#show-1", State.SCHEDULED),
        ("https://pod.example/live/2", State.LIVE),
        ("https://video.example/watch?v=3", State.LIVE),  # where it is watched: its page
    ]
    assert records[0].scheduled_start == datetime(2026, 11, 23, 15, tzinfo=UTC)
    assert records[0].description == "Live from the studio. #Jazz #Live"


class Row:
    """A catalog space as the liveness job hands it to a probe."""

    def __init__(self, space_id: int, url: str, status_url: str) -> None:
        self.id, self.url, self.status_url = space_id, url, status_url


@pytest.fixture
def feed_site() -> Iterator[Site]:
    server = Site("127.0.0.1").start()
    yield server
    server.stop()


def check(probes: list[Probe], connection: redis.Redis) -> Outcome:
    """Run the podcast platform's check of `probes` as a liveness worker does."""

    async def run() -> Outcome:
        allow = ("127.0.0.1",)
        async with aiohttp.ClientSession() as session:
            checking = Checking(
                fetch=Fetcher(session, allow, 5.0),
                api=session,
                config=CONFIG,
                redis=connection,
                timeout_s=5.0,
            )
            return await Podcast().check(probes, checking)

    return asyncio.run(run())


def probe(space_id: int, url: str, feed: str) -> Probe:
    found = Podcast().probe(Row(space_id, url, feed), CONFIG)
    assert isinstance(found, FeedProbe) and found.target == feed
    return found


def test_a_batch_reads_each_feed_once(feed_site: Site, embedded_redis_server: redis.Redis) -> None:
    feed = f"{feed_site.url}/feed.xml"
    feed_site.routes["/feed.xml"] = (
        200,
        {"Content-Type": RSS},
        podcast_feed(
            live_item("live", "show-1"),
            live_item("ended", "show-2", link="https://pod.example/live/2"),
            live_item("on-air", "show-4"),
        ).encode(),
    )
    probes = [
        probe(1, f"{feed}#show-1", feed),
        probe(2, "https://pod.example/live/2", feed),
        probe(3, f"{feed}#show-3", feed),  # no longer in the feed: it ended
        probe(4, f"{feed}#show-4", feed),
    ]
    outcome = check(probes, embedded_redis_server)
    assert feed_site.paths() == ["/feed.xml"]
    seen = outcome.observations
    assert (seen[1].state, seen[1].started_at) == (
        State.LIVE,
        datetime(2026, 11, 23, 15, tzinfo=UTC),
    )
    assert (seen[2].state, seen[2].ended_at) == (
        State.ENDED,
        datetime(2026, 11, 23, 16, tzinfo=UTC),
    )
    assert seen[3] == Observation(State.ENDED)
    assert seen[4].state is None and "on-air" in seen[4].error
    assert Podcast().probe(Row(5, f"{feed}#x", ""), CONFIG) is None


def test_failed_feeds_fail_their_shows_only(
    feed_site: Site, embedded_redis_server: redis.Redis
) -> None:
    feed_site.routes["/garbage"] = (200, {"Content-Type": RSS}, b"\x00\xffnot a feed at all")
    feed_site.routes["/broken"] = (500, {}, b"")
    feed_site.routes["/ok"] = (
        200,
        {"Content-Type": RSS},
        podcast_feed(live_item("live", "a")).encode(),
    )
    forbidden = "http://127.0.0.2:9/feed.xml"  # an address the worker may not reach
    urls = [f"{feed_site.url}/{path}" for path in ("garbage", "broken", "gone", "ok")]
    probes = [probe(n, f"{url}#a", url) for n, url in enumerate([*urls, forbidden])]
    seen = check(probes, embedded_redis_server).observations
    assert "no longer a feed" in seen[0].error and seen[0].state is None
    assert "HTTP 500" in seen[1].error
    assert seen[2] == Observation(State.GONE)
    assert seen[3].state is State.LIVE
    assert seen[4].state is None and seen[4].error.startswith("refused: ")
