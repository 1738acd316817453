"""WebSub: feeds that name a hub are subscribed to, renewed in time, and pushed to.

A local hub speaking the W3C protocol (bench/peers/websub_hub.py), the portal served
on loopback (its callback) and the worker's jobs run by a real RQ worker.
"""

from __future__ import annotations

import dataclasses
import json
import urllib.request
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from bench.peers.websub_hub import WebSubHub, atom_feed
from core import queues
from core.catalog import websub
from core.catalog.models import Sighting, Source, Space
from core.catalog.sources import add_source
from core.services import Services
from core.timeutil import utcnow
from portal.app import create_app
from tests.browser import serve
from tests.core.platforms.test_podcast import live_item, podcast_feed
from worker import context
from worker.jobs import crawl_source
from worker.run import HeartbeatWorker
from worker.websub import renew_subscriptions, subscribe_source, take_pushed_feed

SPACE = "https://x.com/i/spaces/1OdKrBnaEPXKX"


def work(services: Services, *names: str) -> None:
    """Run every job queued on `names` with a non-forking worker, then return."""
    qs = [Queue(name, connection=services.redis) for name in names]
    HeartbeatWorker(qs, connection=services.redis, ttl_s=30).work(burst=True)


@pytest.fixture
def hub() -> Iterator[WebSubHub]:
    server = WebSubHub().start()
    yield server
    server.stop()


@pytest.fixture
def stack(services: Services) -> Iterator[Services]:
    """The portal served on loopback, and the worker's services pointing hubs at it."""
    with serve(create_app(services.config, services)) as base:
        config = services.config.with_(portal_url=base, crawl_allow=("127.0.0.1",))
        installed = context.install(dataclasses.replace(services, config=config))
        yield installed
        context.reset()
        installed.close()


def feed_source(services: Services, hub: WebSubHub, name: str = "news") -> int:
    """Add a feed source served by the hub, which names the hub; note the hub as a crawl would."""
    url = hub.feed_url(name)
    hub.feeds[name] = atom_feed("News", url, hub.url)
    with services.catalog.session() as session:
        source_id = add_source(session, url, kind="feed", interval_s=300).id
        assert websub.note_feed_hub(session, url, hub.url, url) is not None
    return source_id


def source_of(services: Services, source_id: int) -> Source:
    with services.catalog.sessions() as session:
        source = session.get(Source, source_id)
        assert source is not None
        session.expunge(source)
        return source


def entry_with_space(n: int, title: str) -> dict[str, str]:
    html = f'<p>Tonight: <a href="{SPACE}">{title}</a>, join us</p>'
    return {"id": f"tag:news,{n}", "title": title, "link": f"https://news.test/{n}", "html": html}


def test_note_feed_hub_keeps_the_hub_and_asks_again_only_when_it_changes(
    services: Services,
) -> None:
    with services.catalog.session() as session:
        url = add_source(session, "https://news.test/feed.xml", kind="feed").id
        source = websub.note_feed_hub(
            session, "https://news.test/feed.xml", "https://hub.test/", ""
        )
        assert source is not None and source.id == url
        # No rel="self": the topic is the feed's own URL.
        assert (source.websub_hub, source.websub_topic) == ("https://hub.test/", source.url)
        assert source.websub_state == websub.SUBSCRIBE
        websub.mark_pending(session, source.id)
        secret = source.websub_secret
        assert len(secret) == 40
        websub.note_feed_hub(session, source.url, "https://hub.test/", source.url)
        assert (source.websub_state, source.websub_secret) == (websub.PENDING, secret)
        websub.note_feed_hub(session, source.url, "https://other-hub.test/", source.url)
        assert (source.websub_state, source.websub_secret) == (websub.SUBSCRIBE, "")
        assert websub.note_feed_hub(session, source.url, "javascript:alert(1)", "") is None
        assert source.websub_hub == "https://other-hub.test/", "an unusable hub changes nothing"
        other = "https://other-hub.test/"
        assert websub.note_feed_hub(session, "HTTPS://News.TEST/feed.xml", other, "") is source
        assert (
            websub.note_feed_hub(session, "https://unknown.test/feed", "https://h.test/", "")
            is None
        )
        # A feed that stops naming a hub is polled as before.
        websub.note_feed_hub(session, source.url, "", "")
        assert (source.websub_hub, source.websub_state) == ("", "")
        assert websub.subscriptions_due(session) == []


def test_due_subscriptions_renewal_times_and_poll_interval(services: Services) -> None:
    t0 = utcnow()
    with services.catalog.session() as session:
        source = add_source(session, "https://news.test/feed.xml", kind="feed", interval_s=300)
        websub.note_feed_hub(session, source.url, "https://hub.test/", "")
        assert websub.subscriptions_due(session, t0) == [source]
        websub.mark_pending(session, source.id, now=t0)
        wait = timedelta(seconds=websub.PENDING_WAIT_S)
        assert websub.subscriptions_due(session, t0 + wait - timedelta(seconds=1)) == []
        assert websub.subscriptions_due(session, t0 + wait) == [source], "never verified: ask again"
        assert websub.effective_interval(source, t0) == 300, "polled as usual until verified"

        websub.mark_verified(session, source.id, 86_400, now=t0)
        renew = t0 + timedelta(seconds=86_400 * 0.8)  # 80% comes before "an hour before"
        assert source.websub_lease_until == renew
        assert websub.subscriptions_due(session, renew - timedelta(seconds=1)) == []
        assert websub.subscriptions_due(session, renew) == [source]
        assert websub.effective_interval(source, t0) == 3600, "x12, at most once an hour"
        source.interval_s = 600
        assert websub.effective_interval(source, t0) == 7200
        assert websub.effective_interval(source, renew) == 600, "not renewed: polled as usual"
        source.paused = True
        assert websub.subscriptions_due(session, renew) == []

    # An hour before the end comes first for leases under five hours; short leases half-way.
    assert websub.renewal_time(t0, 3 * 3600) == t0 + timedelta(hours=2)
    assert websub.renewal_time(t0, 10 * 3600) == t0 + timedelta(hours=8)
    assert websub.renewal_time(t0, 3600) == t0 + timedelta(minutes=30)
    assert websub.renewal_time(t0, 5) == t0 + timedelta(seconds=websub.MIN_LEASE_S / 2)


def _search(base: str, q: str) -> list[str]:
    with urllib.request.urlopen(f"{base}/api/v1/spaces?q={q}", timeout=10) as answer:
        return [item["url"] for item in json.load(answer)["items"]]


def test_subscribe_verify_push_and_renew(stack: Services, hub: WebSubHub) -> None:
    source_id = feed_source(stack, hub)
    topic = hub.feed_url("news")
    callback = f"{stack.config.portal_url}/websub/{source_id}"

    assert renew_subscriptions() == 1
    assert renew_subscriptions() == 0, "a queued request is not queued twice"
    work(stack, queues.CRAWL)
    [request] = hub.requests
    assert request["hub.mode"] == "subscribe" and request["hub.topic"] == topic
    assert request["hub.callback"] == callback and request["hub.lease_seconds"] == "86400"
    [check] = hub.wait_for_verifications(1)
    assert check.confirmed, "the portal echoes the challenge"
    source = source_of(stack, source_id)
    assert source.websub_state == websub.VERIFIED
    assert request["hub.secret"] == source.websub_secret
    lease_until = source.websub_lease_until
    assert lease_until is not None
    expected = utcnow() + timedelta(seconds=86_400 * 0.8)
    assert abs((lease_until - expected).total_seconds()) < 30, "the lease is recorded"
    assert websub.effective_interval(source) == 3600

    # New content pushed: searchable without any poll of the feed.
    entries = [entry_with_space(1, "Jazz night with the quartet")]
    body = atom_feed("News", topic, hub.url, entries).encode()
    assert hub.publish(topic, body) == [202]
    work(stack, queues.CRAWL_NOW)
    assert _search(stack.config.portal_url, "quartet") == [SPACE]
    with stack.catalog.sessions() as session:
        [sighting] = session.scalars(select(Sighting)).all()
        assert sighting.page_url == "https://news.test/1"
    assert source_of(stack, source_id).last_run_at is None, "the feed was never polled"

    # Renewal before the lease ends: a new secret; the old one still counts until verified.
    old_secret = source.websub_secret
    with stack.catalog.session() as session:
        row = session.get(Source, source_id)
        assert row is not None and row.websub_lease_until is not None
        row.websub_lease_until = utcnow() - timedelta(seconds=1)
    assert renew_subscriptions() == 1
    work(stack, queues.CRAWL)
    assert len(hub.requests) == 2 and hub.requests[1]["hub.secret"] != old_secret
    hub.wait_for_verifications(2)
    renewed = source_of(stack, source_id)
    assert renewed.websub_state == websub.VERIFIED
    assert renewed.websub_secret == hub.requests[1]["hub.secret"]
    assert renewed.websub_lease_until is not None and renewed.websub_lease_until > lease_until
    assert stack.redis.get(websub.previous_secret_key(source_id)) == old_secret.encode()


def test_a_hub_at_a_private_address_is_refused(stack: Services) -> None:
    forbidden = WebSubHub("127.0.0.2").start()
    try:
        source_id = feed_source(stack, forbidden)
        result = subscribe_source(source_id)
        assert result is not None and result["reason"] == "blocked_address"
        assert forbidden.requests == [], "nothing was sent to it"
        source = source_of(stack, source_id)
        assert (source.websub_state, source.websub_secret) == (websub.REFUSED, "")
        assert renew_subscriptions() == 0, "a refused hub is not asked again"
        assert subscribe_source(source_id) is None
    finally:
        forbidden.stop()


def test_a_failing_hub_is_asked_again_later(stack: Services, hub: WebSubHub) -> None:
    hub.answer = 500
    source_id = feed_source(stack, hub)
    result = subscribe_source(source_id)
    assert result is not None and result["reason"] == "http_5xx"
    source = source_of(stack, source_id)
    assert source.websub_state == websub.SUBSCRIBE and source.websub_lease_until is not None
    assert source.websub_lease_until > utcnow() + timedelta(seconds=websub.RETRY_S - 60)
    assert renew_subscriptions() == 0
    assert hub.verifications == []


def test_take_pushed_feed_is_idempotent_and_refuses_garbage(
    stack: Services, hub: WebSubHub
) -> None:
    source_id = feed_source(stack, hub)
    topic = hub.feed_url("news")
    body = atom_feed("News", topic, hub.url, [entry_with_space(7, "Poetry hour")]).encode()
    key = websub.push_key(source_id, body)
    for _ in range(2):
        stack.redis.set(key, body)
        result = take_pushed_feed(source_id, key)
        assert result is not None and result["spaces"] == 1
        assert stack.redis.get(key) is None, "a body read is dropped"
    assert take_pushed_feed(source_id, key) is None, "nothing left to read"
    with stack.catalog.sessions() as session:
        assert len(session.scalars(select(Space)).unique().all()) == 1
        assert len(session.scalars(select(Sighting)).all()) == 1

    garbage = b"\x00not a feed at all"
    key = websub.push_key(source_id, garbage)
    stack.redis.set(key, garbage)
    result = take_pushed_feed(source_id, key)
    assert result is not None and (result["spaces"], result["reason"]) == (0, "parse")
    with pytest.raises(ValueError):
        take_pushed_feed(source_id + 1, key)


def test_a_pushed_podcast_feed_changes_its_live_show_at_once(
    stack: Services, hub: WebSubHub
) -> None:
    source_id = feed_source(stack, hub, "pod")
    states = []
    for status in ("pending", "live"):
        body = podcast_feed(live_item(status, "show-1", title="Jazz hour, live")).encode()
        key = websub.push_key(source_id, body)
        stack.redis.set(key, body)
        result = take_pushed_feed(source_id, key)
        assert result is not None and result["spaces"] == 1
        with stack.catalog.sessions() as session:
            [space] = session.scalars(select(Space)).unique().all()
            states.append((space.state, space.platform))
    assert states == [("scheduled", "podcast"), ("live", "podcast")]


def test_a_listed_feed_naming_a_hub_is_crawled_then_subscribed_and_polled_rarely(
    stack: Services, hub: WebSubHub
) -> None:
    url = hub.feed_url("listed")
    hub.feeds["listed"] = atom_feed("Listed", url, hub.url, [entry_with_space(1, "Jazz night")])
    with stack.catalog.session() as session:
        source_id = add_source(session, url, kind="feed", interval_s=300).id
    assert crawl_source(source_id) is not None
    source = source_of(stack, source_id)
    assert (source.websub_hub, source.websub_topic) == (hub.url, url), "the crawl read the hub"
    assert source.websub_state == websub.SUBSCRIBE and source.last_spaces == 1

    # The schedule asks the hub; the hub verifies; the next crawl is an hour away, not 5 min.
    assert renew_subscriptions() == 1
    work(stack, queues.CRAWL)
    hub.wait_for_verifications(1)
    assert source_of(stack, source_id).websub_state == websub.VERIFIED
    crawl_source(source_id)
    source = source_of(stack, source_id)
    assert source.last_run_at is not None and source.next_run_at is not None
    assert (source.next_run_at - source.last_run_at).total_seconds() == 3600
