"""The WebSub callback: verification of intent, and pushes taken only when correctly signed."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue

from bench.peers.websub_hub import WebSubHub, atom_feed
from core import queues
from core.catalog import websub
from core.catalog.models import Source
from core.catalog.sources import add_source
from core.services import Services
from core.timeutil import utcnow
from portal.app import create_app
from tests.browser import serve
from worker import context
from worker.websub import subscribe_source

FEED = "https://news.test/feed.xml"
HUB = "https://hub.test/"
BODY = atom_feed("News", FEED, HUB).encode()


def asked(services: Services, *, verified: bool = False) -> tuple[int, str]:
    """Add a feed source whose hub we asked for a subscription; return its id and secret."""
    with services.catalog.session() as session:
        source = add_source(session, FEED, kind="feed")
        websub.note_feed_hub(session, FEED, HUB, FEED)
        websub.mark_pending(session, source.id)
        if verified:
            websub.mark_verified(session, source.id, 86_400)
        return source.id, source.websub_secret


def state_of(services: Services, source_id: int) -> Source:
    with services.catalog.sessions() as session:
        source = session.get(Source, source_id)
        assert source is not None
        session.expunge(source)
        return source


def verify(client: FlaskClient, source_id: int, **params: str) -> tuple[int, str]:
    query = {"hub.mode": "subscribe", "hub.topic": FEED, "hub.challenge": "c-123"}
    query.update({f"hub.{name}": value for name, value in params.items()})
    answer = client.get(f"/websub/{source_id}", query_string=query)
    return answer.status_code, answer.get_data(as_text=True)


def sign(body: bytes, secret: str, method: str = "sha256") -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()
    return {"X-Hub-Signature": f"{method}={digest}"}


def push(client: FlaskClient, source_id: int, body: bytes, headers: dict[str, str]) -> int:
    answer = client.post(
        f"/websub/{source_id}", data=body, headers=headers, content_type="application/atom+xml"
    )
    return answer.status_code


def queued(services: Services) -> int:
    return Queue(queues.CRAWL_NOW, connection=services.redis).count


def pushed_keys(services: Services) -> list[bytes]:
    return list(services.redis.scan_iter(match=f"{websub.PUSH_KEY_PREFIX}*"))


def test_a_subscription_we_asked_for_is_verified(services: Services, client: FlaskClient) -> None:
    source_id, _ = asked(services)
    assert verify(client, source_id + 1)[0] == 404, "no such source"
    assert verify(client, source_id, topic="https://news.test/other")[0] == 404, "wrong topic"
    assert verify(client, source_id, mode="unsubscribe")[0] == 404, "we never ask to leave"
    assert verify(client, source_id, mode="other")[0] == 404
    assert verify(client, source_id, lease_seconds="soon")[0] == 404
    assert verify(client, source_id, challenge="")[0] == 404
    assert state_of(services, source_id).websub_state == websub.PENDING

    answer = client.get(
        f"/websub/{source_id}",
        query_string={
            "hub.mode": "subscribe",
            "hub.topic": FEED,
            "hub.challenge": "a-b_c~9",
            "hub.lease_seconds": "3600",
        },
    )
    assert answer.status_code == 200 and answer.mimetype == "text/plain"
    assert answer.get_data(as_text=True) == "a-b_c~9"
    source = state_of(services, source_id)
    assert source.websub_state == websub.VERIFIED and source.websub_lease_until is not None
    expected = utcnow() + timedelta(minutes=30)  # a one-hour lease is renewed half-way
    assert abs((source.websub_lease_until - expected).total_seconds()) < 30


def test_nothing_is_verified_that_we_did_not_ask_for(
    services: Services, client: FlaskClient
) -> None:
    with services.catalog.session() as session:
        source_id = add_source(session, FEED, kind="feed").id
        websub.note_feed_hub(session, FEED, HUB, FEED)  # to subscribe, not asked yet
    assert verify(client, source_id) == (404, "no subscription was asked for")
    assert state_of(services, source_id).websub_state == websub.SUBSCRIBE


def test_a_denied_subscription_is_recorded(services: Services, client: FlaskClient) -> None:
    source_id, _ = asked(services, verified=True)
    assert verify(client, source_id, mode="denied", reason="no thanks")[0] == 200
    source = state_of(services, source_id)
    assert (source.websub_state, source.websub_secret) == (websub.DENIED, "")
    assert verify(client, source_id)[0] == 404, "denied: no longer asked"


@pytest.mark.parametrize("method", ["sha1", "sha256", "sha384", "sha512"])
def test_a_correctly_signed_push_is_queued_once(
    services: Services, client: FlaskClient, method: str
) -> None:
    source_id, secret = asked(services, verified=True)
    # No CSRF token: hubs have no session; the signature authenticates the push.
    assert push(client, source_id, BODY, sign(BODY, secret, method)) == 202
    assert push(client, source_id, BODY, sign(BODY, secret, method)) == 202
    assert queued(services) == 1, "the same body pushed twice is read once"
    [key] = pushed_keys(services)
    assert services.redis.get(key) == BODY
    assert 0 < services.redis.ttl(key) <= websub.PUSH_TTL_S


def test_unsigned_or_wrongly_signed_pushes_change_nothing(
    services: Services, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    source_id, secret = asked(services, verified=True)
    caplog.set_level(logging.WARNING, logger="portal.views.websub")
    forged = BODY.replace(b"News", b"Fake")
    for headers in (
        {},
        sign(BODY, "not-the-secret"),
        sign(forged, secret),  # signed, but not this body
        {"X-Hub-Signature": "md5=" + hashlib.md5(BODY).hexdigest()},
        {"X-Hub-Signature": "sha256"},
        {"X-Hub-Signature": "sha256=zz"},
    ):
        assert push(client, source_id, BODY, headers) == 202, headers
    assert queued(services) == 0 and pushed_keys(services) == []
    refusals = [r for r in caplog.records if "push ignored (reason refused)" in r.getMessage()]
    assert len(refusals) == 1, "logged once, not once per push"
    assert "unsigned" in refusals[0].getMessage()


def test_the_secret_a_renewal_replaced_still_counts_until_the_hub_verifies(
    services: Services, client: FlaskClient
) -> None:
    source_id, old = asked(services, verified=True)
    with services.catalog.session() as session:
        websub.mark_pending(session, source_id)
    services.redis.set(websub.previous_secret_key(source_id), old, ex=60)
    assert push(client, source_id, BODY, sign(BODY, old)) == 202
    assert queued(services) == 1


def test_pushes_are_bounded(services: Services, client: FlaskClient) -> None:
    source_id, secret = asked(services, verified=True)
    huge = b"<feed>" + b"x" * (1024 * 1024)
    assert push(client, source_id, huge, sign(huge, secret)) == 413
    assert push(client, source_id + 1, BODY, sign(BODY, secret)) == 404
    assert queued(services) == 0


def test_the_callback_is_rate_limited(services: Services) -> None:
    config = services.config.with_(extra={"websub_rate_limit": 3})
    app = create_app(config, dataclasses.replace(services, config=config))
    client = app.test_client()
    source_id, _ = asked(services)
    statuses = [verify(client, source_id, mode="other")[0] for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
    answer = client.post(f"/websub/{source_id}", data=BODY)
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) > 0


@pytest.fixture
def served(app: Flask, services: Services) -> Iterator[Services]:
    """The portal served on loopback, and the worker's services pointing hubs at it."""
    with serve(app) as base:
        config = services.config.with_(portal_url=base, crawl_allow=("127.0.0.1",))
        installed = context.install(dataclasses.replace(services, config=config))
        yield installed
        context.reset()
        installed.close()


def test_a_real_hub_verifies_and_only_its_signed_pushes_are_taken(served: Services) -> None:
    hub = WebSubHub().start()
    try:
        topic = hub.feed_url("news")
        with served.catalog.session() as session:
            source_id = add_source(session, topic, kind="feed").id
            websub.note_feed_hub(session, topic, hub.url, topic)
        assert subscribe_source(source_id) is not None
        [check] = hub.wait_for_verifications(1)
        assert check.confirmed and state_of(served, source_id).websub_state == websub.VERIFIED

        body = atom_feed("News", topic, hub.url).encode()
        assert hub.publish(topic, body, signed=False) == [202]
        assert hub.publish(topic, body, secret="guessed") == [202]
        assert queued(served) == 0 and pushed_keys(served) == []
        assert hub.publish(topic, body, method="sha512") == [202]
        assert queued(served) == 1

        callback = f"{served.config.portal_url}/websub/{source_id}"
        assert hub.deny(topic, callback) == 200
        assert state_of(served, source_id).websub_state == websub.DENIED
    finally:
        hub.stop()
