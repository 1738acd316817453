"""Probe a batch of spaces for liveness concurrently: room-server status, X API or page."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp
from sqlalchemy import Row
from yarl import URL

from crawler.extract import space_page
from crawler.guard import ForbiddenTarget
from portal.catalog.models import Space
from portal.catalog.records import Observation
from portal.catalog.states import State
from portal.timeutil import parse_iso
from worker import httppool, xapi
from worker.netguard import GuardedResolver, UrlGuard

__all__ = ["GuardedResolver", "Outcome", "Probe", "probe_all", "probe_for"]

log = logging.getLogger(__name__)

TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
MAX_REDIRECTS = 3
MAX_STATUS_BYTES = 256 * 1024
MAX_PAGE_BYTES = 2 * 1024 * 1024

_ROOM_STATES = {"scheduled": State.SCHEDULED, "live": State.LIVE, "ended": State.ENDED}
_GONE_STATUSES = (404, 410)
_REDIRECTS = (301, 302, 303, 307, 308)


class ProbeError(Exception):
    """A probe that got no usable answer; the message says why."""


@dataclass(frozen=True)
class Probe:
    """How to check one space: its room-server status JSON, its X API entry, or its page."""

    space_id: int
    kind: str  # "status" | "x" | "page"
    url: str  # for "x", the X space id


@dataclass
class Outcome:
    """A batch's results: an Observation per checked space, and spaces to check later."""

    observations: dict[int, Observation] = field(default_factory=dict)
    deferred: list[int] = field(default_factory=list)
    resume_at: datetime | None = None  # when the deferred ones may be checked


def probe_for(space: Space | Row[Any], *, x_api: bool = False) -> Probe | None:
    """Return how to check `space`, or None when it cannot be checked here."""
    if space.kind == "x":
        # X pages are script-only shells: only the API (with a token) can tell.
        x_id = xapi.space_id(space.url) if x_api else None
        return Probe(space.id, "x", x_id) if x_id else None
    if space.kind == "rooms" and space.status_url:
        return Probe(space.id, "status", space.status_url)
    if space.url:
        return Probe(space.id, "page", space.url)
    return None


def probe_all(
    probes: Sequence[Probe],
    allow: Sequence[str],
    *,
    timeout_s: float | None = None,
    x_api: xapi.XApi | None = None,
) -> Outcome:
    """Run `probes` concurrently and return what each found (never raises per probe)."""
    if not probes:
        return Outcome()
    return httppool.run(_probe_all(probes, tuple(allow), timeout_s or TIMEOUT_S, x_api))


async def _probe_all(
    probes: Sequence[Probe], allow: tuple[str, ...], timeout_s: float, x_api: xapi.XApi | None
) -> Outcome:
    web = [probe for probe in probes if probe.kind != "x"]
    x = [probe for probe in probes if probe.kind == "x"]
    outcome = Outcome()
    # The connector's limit bounds our concurrency; its pool keeps connections to each
    # room server open from batch to batch.
    session = httppool.session(allow)
    timeout = aiohttp.ClientTimeout(total=timeout_s, sock_connect=min(CONNECT_TIMEOUT_S, timeout_s))
    guard = UrlGuard(allow)
    tasks = [_run(session, guard, probe, timeout, timeout_s) for probe in web]
    results, lookup = await asyncio.gather(asyncio.gather(*tasks), _lookup_x(x, x_api, timeout_s))
    outcome.observations = {p.space_id: obs for p, obs in zip(web, results, strict=True)}
    if lookup is not None:
        for probe in x:
            if probe.url in lookup.observations:
                outcome.observations[probe.space_id] = lookup.observations[probe.url]
            else:
                outcome.deferred.append(probe.space_id)
        outcome.resume_at = lookup.resume_at
    return outcome


async def _lookup_x(
    probes: Sequence[Probe], api: xapi.XApi | None, timeout_s: float
) -> xapi.Lookup | None:
    if not probes or api is None:
        return None
    # The X API is operator configuration, not crawled input: no private-address guard,
    # so a local server can stand in for it.
    ids = [probe.url for probe in probes]
    return await xapi.lookup(httppool.session(None), api, ids, timeout_s=timeout_s)


async def _run(
    session: aiohttp.ClientSession,
    guard: UrlGuard,
    probe: Probe,
    timeout: aiohttp.ClientTimeout,
    timeout_s: float,
) -> Observation:
    try:
        if probe.kind == "status":
            return await _check_status(session, guard, probe.url, timeout)
        return await _check_page(session, guard, probe.url, timeout)
    except ForbiddenTarget as refused:
        return Observation(None, error=f"refused: {refused}")
    except ProbeError as error:
        return Observation(None, error=str(error))
    except TimeoutError:
        return Observation(None, error=f"no answer within {timeout_s:g} s")
    except aiohttp.ClientError as error:
        return Observation(None, error=f"{type(error).__name__}: {error}"[:500])


async def _check_status(
    session: aiohttp.ClientSession, guard: UrlGuard, url: str, timeout: aiohttp.ClientTimeout
) -> Observation:
    status, body, _charset = await _fetch(
        session, guard, url, "application/json", MAX_STATUS_BYTES, timeout
    )
    if status in _GONE_STATUSES:
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
        started_at=parse_iso(_text(data.get("started_at"))),
        scheduled_start=parse_iso(_text(data.get("scheduled_start"))),
        ended_at=parse_iso(_text(data.get("ended_at"))),
    )


async def _check_page(
    session: aiohttp.ClientSession, guard: UrlGuard, url: str, timeout: aiohttp.ClientTimeout
) -> Observation:
    status, body, charset = await _fetch(session, guard, url, "text/html", MAX_PAGE_BYTES, timeout)
    if status in _GONE_STATUSES:
        return Observation(State.GONE)
    if status != 200:
        raise ProbeError(f"page answered HTTP {status}")
    try:
        text = body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset name Python does not know
        text = body.decode("utf-8", errors="replace")
    return observation_from_page(text, url)


def observation_from_page(text: str, url: str) -> Observation:
    """Re-read a space's page with the crawler's extractor and map it to an Observation."""
    record = space_page(text, url)
    if record is None:
        raise ProbeError("the page no longer describes a space")
    if record.state is None:
        raise ProbeError("the page does not say whether the space is live")
    return Observation(
        record.state,
        listener_count=record.listener_count,
        speaker_count=record.speaker_count,
        title=record.title or None,
        started_at=record.started_at,
        scheduled_start=record.scheduled_start,
        ended_at=record.ended_at,
    )


async def _fetch(
    session: aiohttp.ClientSession,
    guard: UrlGuard,
    url: str,
    accept: str,
    max_bytes: int,
    timeout: aiohttp.ClientTimeout,
) -> tuple[int, bytes, str | None]:
    """GET `url`, following only redirects the guard allows; return status, body, charset."""
    for _hop in range(MAX_REDIRECTS + 1):
        await guard.check(url)
        headers = {"Accept": accept}
        async with session.get(
            url, allow_redirects=False, headers=headers, timeout=timeout
        ) as response:
            if response.status in _REDIRECTS:
                location = response.headers.get("Location")
                if not location:
                    raise ProbeError(f"HTTP {response.status} redirect without a Location")
                url = str(response.url.join(URL(location)))
                continue
            if response.status != 200:
                return response.status, b"", None
            return response.status, await _read_body(response, max_bytes), response.charset
    raise ProbeError(f"more than {MAX_REDIRECTS} redirects")


async def _read_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the whole body, refusing more than `max_bytes`.

    Reading to the end (not just `max_bytes`) lets the connection go back to the pool:
    a half-read response is closed instead, and the next probe pays a new connection.
    """
    if (response.content_length or 0) > max_bytes:
        raise ProbeError(f"response larger than {max_bytes // 1024} KiB")
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise ProbeError(f"response larger than {max_bytes // 1024} KiB")
    return bytes(body)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return max(0, int(value))


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None
