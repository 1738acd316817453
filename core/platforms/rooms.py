"""Room servers: ours, and any that publish the same page metadata and status JSON.

A room's public page (`/s/<id>`) carries a JSON-LD `BroadcastEvent`, a
`<meta name="spaces:state">` and a `<link rel="alternate" type="application/json">` to
its status JSON (`/api/rooms/<id>`), which says the state and the counts outright; the
portal checks liveness there and plays the room in the server's embeddable player
(`/s/<id>/embed`). The contract is in docs/rooms-protocol.md.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from core.catalog.records import Observation, SpaceRecord
from core.catalog.states import State
from core.config import Config
from core.extract.pages import as_selector, find_event, read_event_page
from core.extract.urls import canonical_url
from core.platforms.base import Checking, Outcome, Probe, SpaceRow
from core.platforms.web import GONE_STATUSES, EventPage, guarded, observation_of
from core.timeutil import parse_iso
from core.webfetch import ProbeError

MAX_STATUS_BYTES = 256 * 1024

_STATUS_PATH = re.compile(r"/api/rooms/([A-Za-z0-9_-]+)/?$")
_ROOM_STATES = {"scheduled": State.SCHEDULED, "live": State.LIVE, "ended": State.ENDED}


class RoomServer(EventPage):
    """A room on a room server: known by its status link, checked by its status JSON."""

    name = "rooms"
    embeds_player = True

    def read_page(
        self, page: Selector, url: str, *, now: datetime | None = None
    ) -> SpaceRecord | None:
        """Return the record of a room's page (one with a status link), else None."""
        status_url, room_id = status_link(page, url)
        if not room_id:
            return None
        record = read_event_page(page, url, self.name, find_event(page), now=now)
        record.status_url = status_url
        record.player_url = record.url.rstrip("/") + "/embed"
        return record

    def probe(self, space: SpaceRow, config: Config) -> Probe | None:
        """Check the status JSON where the page named one, else the page itself."""
        if space.status_url:
            return Probe(space.id, self.name, "status", space.status_url)
        return super().probe(space, config)

    async def check(self, probes: Sequence[Probe], checking: Checking) -> Outcome:
        """Read the status JSON (or the page) of every room of the batch concurrently."""
        status = [probe for probe in probes if probe.how == "status"]
        pages = [probe for probe in probes if probe.how != "status"]
        checks = (guarded(_check_status(probe, checking), checking) for probe in status)
        found, outcome = await asyncio.gather(
            asyncio.gather(*checks), super().check(pages, checking)
        )
        outcome.observations.update(
            {probe.space_id: seen for probe, seen in zip(status, found, strict=True)}
        )
        return outcome

    def observe_page(self, text: str, url: str) -> Observation:
        """Read a room's page again: as a room's, or (its status link gone) as an event's."""
        sel = as_selector(text)
        record = self.read_page(sel, url) or EventPage.read_page(self, sel, url)
        if record is None:
            raise ProbeError("the page no longer describes a space")
        return observation_of(record)


def status_link(page: Selector, url: str) -> tuple[str, str]:
    """Return the page's status JSON link and the room id in it, or ("", "")."""
    hrefs = page.xpath(
        '//link[contains(concat(" ", normalize-space(@rel), " "), " alternate ")]'
        '[@type="application/json"]/@href'
    ).getall()
    for href in hrefs:
        status_url = canonical_url(href, url)
        match = _STATUS_PATH.search(urlsplit(status_url).path) if status_url else None
        if match:
            return status_url, match.group(1)
    return "", ""


async def _check_status(probe: Probe, checking: Checking) -> Observation:
    status, body, _charset = await checking.fetch.get(
        probe.target, "application/json", MAX_STATUS_BYTES
    )
    if status in GONE_STATUSES:
        return Observation(State.GONE)
    if status != 200:
        raise ProbeError(f"status endpoint answered HTTP {status}")
    try:
        data = json.loads(body)
    except ValueError:
        raise ProbeError("status endpoint did not return JSON") from None
    if not isinstance(data, dict):
        raise ProbeError("status endpoint returned JSON that is not an object")
    return observation_from_status(data)


def observation_from_status(data: dict[str, Any]) -> Observation:
    """Map a room server's `GET /api/rooms/<id>` JSON to an Observation."""
    state = _ROOM_STATES.get(str(data.get("state", "")).lower())
    if state is None:
        raise ProbeError(f"status endpoint gave an unknown state {data.get('state')!r}")
    speakers = data.get("speakers")
    title = data.get("title")
    return Observation(
        state,
        listener_count=_count(data.get("listener_count")),
        speaker_count=len(speakers) if isinstance(speakers, list) else None,
        title=(title.strip()[:300] or None) if isinstance(title, str) else None,
        started_at=parse_iso(data.get("started_at")),
        scheduled_start=parse_iso(data.get("scheduled_start")),
        ended_at=parse_iso(data.get("ended_at")),
    )


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, int(value))
