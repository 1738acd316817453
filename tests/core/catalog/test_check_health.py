"""Liveness checks leave their health on each space: last good check, status and reason."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest

from bench.peers.sites import Site
from core.catalog.checks import record_observations
from core.catalog.db import Catalog
from core.catalog.models import Space
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.config import Config
from core.platforms.base import Checking, Outcome, Probe
from core.platforms.rooms import RoomServer
from core.platforms.web import EventPage
from core.timeutil import utcnow
from core.webfetch import Fetcher

EVENT = {
    "@context": "https://schema.org",
    "@type": "BroadcastEvent",
    "name": "Evening talk",
    "isLiveBroadcast": True,
    "startDate": "2026-11-23T11:30:00Z",
}
PAGE = (
    '<!doctype html><html><head><script type="application/ld+json">'
    f"{json.dumps(EVENT)}</script></head><body>talk</body></html>"
)
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def site() -> Iterator[Site]:
    server = Site("127.0.0.1").start()
    server.routes.update(
        {
            "/live": PAGE,
            "/broken": (503, {"Content-Type": "text/html"}, b"down for maintenance"),
            "/forbidden": (403, {"Content-Type": "text/html"}, b"no"),
            "/plain": "<html><body>no event here</body></html>",
            "/api/rooms/r1": (200, JSON, json.dumps({"state": "live"}).encode()),
            "/api/rooms/r2": (200, JSON, b"<html>not json</html>"),
            "/api/rooms/r3": (410, JSON, b"{}"),
        }
    )
    yield server
    server.stop()


def check(probes: list[Probe], config: Config) -> Outcome:
    """Check `probes` as a liveness worker does, with loopback 127.0.0.1 allowed only."""

    async def run() -> Outcome:
        allow = ("127.0.0.1",)
        async with aiohttp.ClientSession() as session:
            checking = Checking(
                fetch=Fetcher(session, allow, 5.0),
                api=session,
                config=config,
                redis=None,  # type: ignore[arg-type]  # these platforms keep no shared state
                timeout_s=5.0,
            )
            pages = [p for p in probes if p.platform == "web"]
            rooms = [p for p in probes if p.platform == "rooms"]
            outcome = await EventPage().check(pages, checking)
            outcome.merge(await RoomServer().check(rooms, checking))
            return outcome

    return asyncio.run(run())


def test_failed_checks_say_why(site: Site) -> None:
    other = site.url.replace("127.0.0.1", "127.0.0.2")  # loopback, but not allowed
    probes = [
        Probe(1, "web", "page", f"{site.url}/live"),
        Probe(2, "web", "page", f"{site.url}/broken"),
        Probe(3, "web", "page", f"{site.url}/forbidden"),
        Probe(4, "web", "page", f"{site.url}/plain"),
        Probe(5, "web", "page", f"{other}/live"),
        Probe(6, "rooms", "status", f"{site.url}/api/rooms/r1"),
        Probe(7, "rooms", "status", f"{site.url}/api/rooms/r2"),
        Probe(8, "rooms", "status", f"{site.url}/api/rooms/r3"),
    ]
    seen = check(probes, Config(data_dir=Path("var"), database_url="sqlite://")).observations
    told = {i: (o.state, o.reason, o.status) for i, o in seen.items()}
    assert told == {
        1: (State.LIVE, "", 200),
        2: (None, "http_5xx", 503),
        3: (None, "http_4xx", 403),
        4: (None, "parse", 0),
        5: (None, "blocked_address", 0),
        6: (State.LIVE, "", 200),
        7: (None, "parse", 200),
        8: (State.GONE, "gone", 410),
    }
    assert seen[2].error == "page answered HTTP 503"


def test_checks_record_health_on_spaces(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as session:
        made = [
            upsert_space(session, SpaceRecord(url=f"https://talks.test/{n}", state=State.LIVE))
            for n in range(3)
        ]
        session.flush()
        ids = [space.id for space in made]
    failed = Observation(None, error="page answered HTTP 503", reason="http_5xx", status=503)
    with catalog.session() as session:
        record_observations(
            session,
            {
                ids[0]: Observation(State.LIVE, status=200),  # quiet: nothing new
                ids[1]: failed,
                ids[2]: Observation(State.ENDED, status=200),  # a change
            },
            interval_s=30,
            now=now,
        )
    later = now + timedelta(seconds=40)
    with catalog.session() as session:
        record_observations(session, {ids[1]: failed}, interval_s=30, now=later)
    with catalog.session() as session:
        spaces = [session.get_one(Space, i) for i in ids]
        health = [
            (s.last_ok_at, s.last_status, s.check_failures, s.check_reason, s.last_checked_at)
            for s in spaces
        ]
    assert health == [
        (now, 200, 0, "", now),
        (None, 503, 2, "http_5xx", later),
        (now, 200, 0, "", now),
    ]
    # A good check after failures clears the reason and keeps the time it was good.
    with catalog.session() as session:
        record_observations(
            session, {ids[1]: Observation(State.LIVE, status=200)}, interval_s=30, now=later
        )
        space = session.get_one(Space, ids[1])
        assert (space.check_failures, space.check_reason, space.last_ok_at) == (0, "", later)
