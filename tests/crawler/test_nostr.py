"""Nostr relay sources, against a local relay speaking NIP-01: polls, refusals, push."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bench.peers.nostr_relay import TEST_KEY, Relay, activity, pubkey_of, sign
from core.catalog.models import Space
from core.catalog.sources import add_source
from core.catalog.spaces import get_space_by_url
from core.catalog.states import State
from core.config import Config
from core.platforms import registry
from core.platforms.nip01 import event_id
from core.platforms.nip19 import Address, encode_naddr
from core.services import Services
from crawler.relays import write_activity
from crawler.sources import READERS, reader_for_url
from crawler.sources.base import SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import Http
from crawler.sources.nostr import fetch_stored, request_filter
from crawler.sources.nostr_gate import Gate
from tests.crawler.roomserver import RoomServer
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
PUBKEY = pubkey_of(TEST_KEY)
T = TypeVar("T")


def naddr(d: str, kind: int = 30311) -> str:
    return "nostr:" + encode_naddr(Address(kind, PUBKEY, d))


@pytest.fixture
def relay() -> Iterator[Relay]:
    server = Relay("127.0.0.1").start()
    yield server
    server.stop()


def with_http(call: Callable[[Http], Awaitable[T]], allow: tuple[str, ...] = ("127.0.0.1",)) -> T:
    """Run `call(http)` with a guarded client that may reach 127.0.0.1 only."""

    async def run() -> T:
        async with Http.session_for(allow) as session:
            return await call(Http(session, allow, user_agent="SpacesTest/1.0"))

    return asyncio.run(run())


def poll(url: str, query: str = "", cursor: str = "") -> Any:
    spec = SourceSpec(url=url, kind="nostr", query=query, cursor=cursor)
    return with_http(lambda http: READERS["nostr"].poll(spec, http))


def test_relay_addresses_are_nostr_sources() -> None:
    assert reader_for_url("wss://relay.example") is READERS["nostr"]
    assert reader_for_url("ws://127.0.0.1:7000/") is READERS["nostr"]
    assert reader_for_url("https://relay.example") is not READERS["nostr"]


def test_a_poll_finds_live_and_planned_spaces(relay: Relay) -> None:
    now = int(time.time())
    relay.publish(
        activity("live-one", "live", topics=("audio",), created_at=now - 5),
        activity("later", "planned", topics=("talk",), created_at=now - 3),
        activity("elsewhere", "live", topics=("cooking",), created_at=now - 2),
        sign(TEST_KEY, 1, [["t", "audio"]], "a note, not an activity"),
    )
    found = poll(relay.url, "audio, #Talk")
    by_url = {record.url: (record, page) for record, page in found.records}
    assert set(by_url) == {naddr("live-one"), naddr("later")}
    assert by_url[naddr("live-one")][0].state == State.LIVE
    assert by_url[naddr("later")][0].state == State.SCHEDULED
    assert by_url[naddr("later")][1] == relay.url  # seen on this relay
    assert found.cursor == str(now - 3)
    req, close = relay.requests[-2:]
    assert req[0] == "REQ" and req[2] == {"kinds": [30311, 30312], "#t": ["audio", "talk"]}
    assert close == ["CLOSE", req[1]]
    assert relay.open_subscriptions() == 0

    # The next poll asks only for what came since.
    relay.publish(activity("live-one", "ended", created_at=now))
    again = poll(relay.url, "audio,talk", cursor=found.cursor)
    assert relay.requests[-2][2]["since"] == now - 3
    states = {record.url: record.state for record, _page in again.records}
    assert states[naddr("live-one")] == State.ENDED


def test_forged_and_altered_events_are_refused(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    good = activity("good", "live")
    altered = {**activity("altered", "live"), "content": "changed after signing"}
    forged = {**activity("forged", "live"), "sig": good["sig"]}
    forged2 = {**activity("forged-2", "live"), "sig": good["sig"]}
    forged2["id"] = event_id(forged2)
    relay.publish(good, altered, forged, forged2)
    gate = Gate(relay.url, ["audio"])
    with caplog.at_level(logging.WARNING, logger="crawler.sources.nostr_gate"):
        events = with_http(
            lambda http: fetch_stored(relay.url, request_filter([], None), http, gate)
        )
    assert [event["id"] for event in events] == [good["id"]]
    assert gate.counts["bad_id"] == 1
    assert gate.counts["bad_signature"] == 2
    assert gate.refused == 3
    # One line per reason, not one per event.
    lines = [r.getMessage() for r in caplog.records]
    assert len([line for line in lines if "bad_signature" in line]) == 1
    assert all("(refused: " in line for line in lines)
    assert {record.url for record, _ in poll(relay.url).records} == {naddr("good")}


def test_a_flood_is_capped_and_a_huge_message_refused(
    relay: Relay, caplog: pytest.LogCaptureFixture
) -> None:
    now = int(time.time())
    relay.publish(*(activity(f"room-{n}", "live", created_at=now - n) for n in range(300)))
    gate = Gate(relay.url, [], rate=5.0, burst=20)
    with caplog.at_level(logging.WARNING, logger="crawler.sources.nostr_gate"):
        events = with_http(
            lambda http: fetch_stored(relay.url, request_filter([], None), http, gate)
        )
    assert 20 <= len(events) < 40
    assert gate.counts["rate_limited"] >= 260
    assert len([r for r in caplog.records if "rate_limited" in r.getMessage()]) == 1

    # A message past the size cap is refused without reading it.
    huge = activity("huge", "live", extra=[["summary", "x" * 100_000]])
    relay.publish(huge)
    gate = Gate(relay.url, [])
    events = with_http(lambda http: fetch_stored(relay.url, request_filter([], None), http, gate))
    assert huge["id"] not in {event["id"] for event in events}
    assert gate.counts["too_large"] == 1


def test_events_a_relay_was_not_asked_for_are_refused(relay: Relay) -> None:
    gate = Gate(relay.url, ["audio"])
    sub = "sub-1"
    off_topic = activity("cooking", "live", topics=("cooking",))
    note = sign(TEST_KEY, 1, [["t", "audio"]], "hello")
    assert gate.read(json.dumps(["EVENT", sub, off_topic]), sub) == ("EVENT", None)
    assert gate.read(json.dumps(["EVENT", sub, note]), sub) == ("EVENT", None)
    assert gate.read(json.dumps(["EVENT", "other-sub", activity("a", "live")]), sub)[1] is None
    assert gate.read("not json", sub) == ("", None)
    assert gate.counts["off_filter"] == 2 and gate.counts["not_activity"] == 1
    # An older version of an activity after a newer one is no news.
    newer = activity("room", "ended", created_at=2_000_000_000)
    older = activity("room", "live", created_at=1_999_999_000)
    assert gate.read(json.dumps(["EVENT", sub, newer]), sub)[1] == newer
    assert gate.read(json.dumps(["EVENT", sub, older]), sub)[1] is None
    assert gate.read(json.dumps(["EVENT", sub, newer]), sub)[1] is None
    assert gate.read(json.dumps(["EOSE", sub]), sub) == ("EOSE", None)


def test_a_relay_that_floods_is_left() -> None:
    clock = [0.0]
    gate = Gate("wss://relay.example", [], rate=1.0, burst=1, clock=lambda: clock[0])
    event = activity("a", "live")
    for _ in range(1001):
        gate.admit(event)
    assert gate.flooding
    clock[0] += 5.0
    gate.admit(activity("b", "live"))
    assert not gate.flooding


def test_a_relay_at_a_private_address_is_refused() -> None:
    private = Relay("127.0.0.2").start()
    try:
        with pytest.raises(SourceError) as refused:
            poll(private.url)
        assert refused.value.reason == "blocked_address"
        assert private.connections == 0
    finally:
        private.stop()


def test_a_relay_that_is_not_there_is_a_connect_failure() -> None:
    with pytest.raises(SourceError) as failed:
        poll(f"ws://127.0.0.1:{free_port()}/")
    assert failed.value.reason == "connect"


def test_an_activity_pointing_at_a_room_page_is_that_room(
    relay: Relay, services: Services, tmp_path: Path
) -> None:
    rooms = RoomServer(tmp_path / "rooms").start()
    try:
        room = rooms.open_room("host-1", "Ada", title="Garden talk", topics=["garden"])
        page = rooms.url + f"/s/{room['id']}"
        relay.publish(activity("garden", "live", kind=30312, extra=[["service", page]]))
        found = poll(relay.url)
        ((record, page_url),) = found.records
        html = with_http(lambda http: http.get(page)).body.decode()  # as the crawler reads it
    finally:
        rooms.stop()
    crawled = registry.read_page(html, page)
    assert crawled is not None and record.url == crawled.url
    assert record.platform == "rooms" and record.title == "Garden talk"
    assert page_url == naddr("garden", 30312)
    assert "audio" in record.topics
    # Written both ways, it is one space with two sightings.
    interval = services.config.live_check_interval_s
    write_activity(services.catalog, record, page_url, interval_s=interval)
    write_activity(services.catalog, crawled, rooms.url + "/rooms.atom", interval_s=interval)
    with services.catalog.session() as session:
        assert session.query(Space).count() == 1
        space = get_space_by_url(session, record.url)
        assert space is not None
        assert {s.page_url for s in space.sightings} == {page_url, rooms.url + "/rooms.atom"}


def _state(services: Services, url: str) -> str | None:
    with services.catalog.session() as session:
        space = get_space_by_url(session, url)
        return str(space.state) if space is not None else None


def _wait_for(check: Callable[[], bool], timeout_s: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout_s} s")


@pytest.mark.slow
def test_a_pushed_status_changes_the_space_at_once(
    relay: Relay, services: Services, config: Config
) -> None:
    with services.catalog.session() as session:
        add_source(session, relay.url, kind="nostr", query="audio")
    relay.publish(activity("pushed", "live"))
    env = {
        **os.environ,
        **config.child_env(),
        "SPACES_CRAWL_ALLOW": "127.0.0.1",
        "PYTHONPATH": str(ROOT),
    }
    daemon = subprocess.Popen(
        [sys.executable, "-m", "crawler.relays", "-v"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for(lambda: _state(services, naddr("pushed")) == "live", 20)
        _wait_for(lambda: relay.open_subscriptions() == 1, 5)
        relay.publish(activity("pushed", "ended", created_at=int(time.time()) + 1))
        took = _wait_for(lambda: _state(services, naddr("pushed")) == "ended", 5)
        assert took < 3
        # A forged "live" after that changes nothing.
        forged = {**activity("pushed", "live", created_at=int(time.time()) + 2), "sig": "0" * 128}
        relay.publish(forged)
        time.sleep(0.5)
        assert _state(services, naddr("pushed")) == "ended"
        # The relay goes away and comes back: the subscription is opened again.
        relay.stop()
        back = Relay("127.0.0.1", port=relay.port).start()
        try:
            _wait_for(lambda: back.open_subscriptions() == 1, 10)
            back.publish(activity("pushed", "live", created_at=int(time.time()) + 3))
            _wait_for(lambda: _state(services, naddr("pushed")) == "live", 5)
        finally:
            back.stop()
    finally:
        daemon.terminate()
        output, _ = daemon.communicate(timeout=10)
    assert daemon.returncode == 0, output
    assert "bad_signature" in output
