"""Event pages: any page that describes a live audio space in its metadata.

A page with a JSON-LD event (`BroadcastEvent`, `Event`, ...) is read for its title,
description, times, state, host, topics and language; its liveness is checked by
reading the page again. Room servers like ours publish such pages and more (see
core.platforms.rooms).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import replace
from datetime import datetime

import aiohttp
from parsel import Selector

from core.catalog.records import GENERIC_PLATFORM, Observation, SpaceRecord
from core.catalog.states import State
from core.config import Config
from core.extract.pages import as_selector, find_event, read_event_page
from core.netguard import ForbiddenTarget
from core.platforms.base import Checking, Outcome, Platform, Probe, SpaceRow
from core.platforms.failures import CheckFailed, failed, http_failure
from core.webfetch import ProbeError

MAX_PAGE_BYTES = 2 * 1024 * 1024
#: Answers that say the space's page is gone for good.
GONE_STATUSES = (404, 410)


class EventPage(Platform):
    """A page describing a space in JSON-LD; checked by reading the page again."""

    name = GENERIC_PLATFORM

    def read_page(
        self, page: Selector, url: str, *, now: datetime | None = None
    ) -> SpaceRecord | None:
        """Return the record of a page with a JSON-LD event, else None."""
        event = find_event(page)
        if event is None:
            return None
        return read_event_page(page, url, self.name, event, now=now)

    def probe(self, space: SpaceRow, config: Config) -> Probe | None:
        """Check by reading the space's page again."""
        return Probe(space.id, self.name, "page", space.url) if space.url else None

    async def check(self, probes: Sequence[Probe], checking: Checking) -> Outcome:
        """Read every page of the batch concurrently and say what each now shows."""
        checks = (guarded(self._check_page(probe, checking), checking) for probe in probes)
        found = await asyncio.gather(*checks)
        return Outcome(observations={p.space_id: o for p, o in zip(probes, found, strict=True)})

    async def _check_page(self, probe: Probe, checking: Checking) -> Observation:
        status, body, charset = await checking.fetch.get(probe.target, "text/html", MAX_PAGE_BYTES)
        if status in GONE_STATUSES:
            return Observation(State.GONE, reason="gone", status=status)
        if status != 200:
            raise http_failure("page", status)
        try:
            text = body.decode(charset or "utf-8", errors="replace")
        except LookupError:  # a charset name Python does not know
            text = body.decode("utf-8", errors="replace")
        return replace(self.observe_page(text, probe.target), status=status)

    def observe_page(self, text: str, url: str) -> Observation:
        """Read a space's page again and say what it shows now, or raise ProbeError."""
        record = self.read_page(as_selector(text), url)
        if record is None:
            raise CheckFailed("the page no longer describes a space", "parse")
        return observation_of(record)


def observation_of(record: SpaceRecord) -> Observation:
    """Return what a page read during a check says of its space, or raise ProbeError."""
    if record.state is None:
        raise CheckFailed("the page does not say whether the space is live", "parse")
    return Observation(
        record.state,
        listener_count=record.listener_count,
        speaker_count=record.speaker_count,
        title=record.title or None,
        started_at=record.started_at,
        scheduled_start=record.scheduled_start,
        ended_at=record.ended_at,
    )


async def guarded(check: Awaitable[Observation], checking: Checking) -> Observation:
    """Await one space's check, turning every way it can fail into a failed Observation."""
    try:
        return await check
    except ForbiddenTarget as refused:
        return failed(f"refused: {refused}", refused)
    except ProbeError as error:
        return failed(str(error), error)
    except TimeoutError as error:
        return failed(f"no answer within {checking.timeout_s:g} s", error)
    except aiohttp.ClientError as error:
        return failed(f"{type(error).__name__}: {error}"[:500], error)
