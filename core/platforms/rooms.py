"""Room servers: ours, and any that publish the same page metadata and status JSON.

A room's public page (`/s/<id>`) carries a JSON-LD `BroadcastEvent`, a
`<meta name="spaces:state">` and a `<link rel="alternate" type="application/json">` to
its status JSON (`/api/rooms/<id>`), which says the state and the counts outright; the
portal checks liveness there and plays the room in the server's embeddable player
(`/s/<id>/embed`). The contract is in docs/rooms-protocol.md.

A room server may be reached by several host names (`localhost` and `127.0.0.1`, a
bare address and its public name); each page names the room's one address (its
`share_url`) in `rel=canonical`, `og:url` and the JSON-LD `url`, and that address is
the space's key. How far such a claim is believed is decided in `room_address`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from core.catalog.records import Observation, SpaceRecord
from core.catalog.states import State
from core.config import Config
from core.extract.pages import as_selector, declared_urls, find_event, page_url, read_event_page
from core.netguard import parse_address
from core.platforms.base import Checking, Outcome, Probe, SpaceRow
from core.platforms.failures import CheckFailed, http_failure
from core.platforms.web import GONE_STATUSES, EventPage, guarded, observation_of
from core.timeutil import parse_iso
from core.urls import canonical_url, is_loopback, same_machine, same_site

MAX_STATUS_BYTES = 256 * 1024
#: A room server answers its small status JSON at once; one that takes longer than this
#: counts as unreachable, so a hung server shows as such within an interval and a few
#: seconds (the live interval is 30 s: the first failed check lands within 35 s).
STATUS_TIMEOUT_S = 3.0

_STATUS_PATH = re.compile(r"/api/rooms/([A-Za-z0-9_-]+)/?$")
_ROOM_STATES = {"scheduled": State.SCHEDULED, "live": State.LIVE, "ended": State.ENDED}


class RoomServer(EventPage):
    """A room on a room server: known by its status link, checked by its status JSON."""

    name = "rooms"
    embeds_player = True

    def read_page(
        self, page: Selector, url: str, *, now: datetime | None = None
    ) -> SpaceRecord | None:
        """Return the record of a room's page (one with a status link), else None.

        The record is keyed by the room's own address as the page declares it, when
        that claim is believed (see room_address).
        """
        status_url, room_id = status_link(page, url)
        if not room_id:
            return None
        event = find_event(page)
        address, trusted = room_address(page, url, room_id, event)
        if not same_site(address, canonical_url(url)):
            # Asked of the room's own address: the alias's server is not its authority.
            status_url = canonical_url(urlsplit(status_url).path, address)
        record = self._read_room(page, address, status_url, event, now)
        if not trusted:
            as_hearsay(record)
        return record

    def _read_room(
        self,
        page: Selector,
        url: str,
        status_url: str,
        event: dict[str, Any] | None,
        now: datetime | None,
    ) -> SpaceRecord:
        record = read_event_page(page, url, self.name, event, now=now)
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
        # The page fetched is the space's own: what it shows is the space's state,
        # whichever address it declares.
        status_url, room_id = status_link(sel, url)
        record = (
            self._read_room(sel, url, status_url, find_event(sel), None)
            if room_id
            else EventPage.read_page(self, sel, url)
        )
        if record is None:
            raise CheckFailed("the page no longer describes a space", "parse")
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


def room_address(
    page: Selector, url: str, room_id: str, event: dict[str, Any] | None
) -> tuple[str, bool]:
    """Return the address a room's page is keyed by, and whether its content is believed.

    The rule, and why: a page may name any URL as its own, so a cross-host claim is
    only taken when it cannot take over someone else's space.

    - The page must agree with itself: every declared address (rel=canonical, og:url,
      the JSON-LD `url`) names the same URL, and that URL ends in the room id of the
      page's status link. A page that says two things is keyed by its own URL.
    - On the page's own site (scheme, host, port) the claim is believed, as always.
    - Another host name of the same machine is believed too: both loopback names
      (`localhost`, 127.0.0.0/8, ::1) on the same scheme and port. No one else can
      serve a page there, so the page is the room's own.
    - Any other host may be the room's real server or a stranger's copy, and the
      page's own status JSON cannot tell them apart (a hostile server answers with the
      `share_url` it likes). So the page is taken for what a sharing page is: word of
      the room at that address. Its record is keyed by the declared address but is
      provisional (it never replaces what the room's own page said) and carries no
      state, counts or times; the status link is moved to the declared address's own
      server, whose status JSON alone then decides the state. A stranger's page can
      therefore point at a room, as any link can, but never rewrite it.
    """
    own = canonical_url(url)
    declared = declared_urls(page, own, event)
    if len(declared) != 1:
        return page_url(page, own), True
    address = declared[0]
    if same_site(address, own):
        return address, True
    if urlsplit(address).path.rstrip("/").rsplit("/", 1)[-1] != room_id:
        return own, True
    if same_machine(address, own):
        return address, True
    if not _public_name(address):
        return own, True  # a public page may not name a private address as its own
    return address, False


def as_hearsay(record: SpaceRecord) -> SpaceRecord:
    """Mark a record read off a page that is not the room's own as word of it, no more."""
    record.provisional = True
    record.state = None
    record.listener_count = record.speaker_count = None
    record.started_at = record.scheduled_start = record.ended_at = None
    return record


def _public_name(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if not host or is_loopback(host):
        return False
    address = parse_address(host)
    return address is None or address.is_global


async def _check_status(probe: Probe, checking: Checking) -> Observation:
    timeout_s = min(STATUS_TIMEOUT_S, checking.timeout_s)
    try:
        status, body, _charset = await asyncio.wait_for(
            checking.fetch.get(probe.target, "application/json", MAX_STATUS_BYTES), timeout_s
        )
    except TimeoutError:
        raise CheckFailed(
            f"status endpoint gave no answer within {timeout_s:g} s", "timeout"
        ) from None
    if status in GONE_STATUSES:
        return Observation(State.GONE, reason="gone", status=status)
    if status != 200:
        raise http_failure("status endpoint", status)
    try:
        data = json.loads(body)
    except ValueError:
        raise CheckFailed("status endpoint did not return JSON", "parse", status) from None
    if not isinstance(data, dict):
        raise CheckFailed("status endpoint returned JSON that is not an object", "parse", status)
    return replace(observation_from_status(data), status=status)


def observation_from_status(data: dict[str, Any]) -> Observation:
    """Map a room server's `GET /api/rooms/<id>` JSON to an Observation."""
    state = _ROOM_STATES.get(str(data.get("state", "")).lower())
    if state is None:
        raise CheckFailed(f"status endpoint gave an unknown state {data.get('state')!r}", "parse")
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
