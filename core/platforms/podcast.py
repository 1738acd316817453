"""Podcast live shows: Podcasting 2.0 `<podcast:liveItem>` in a podcast's RSS feed.

A podcast announces a live show in its feed as a live item whose `status` goes from
"pending" to "live" to "ended", with `start` and `end` times; the show is a space, and
the feed is where its state is read. A live item is known by its page (its `link`), or
by the feed and its guid (`FEED#GUID`) when it links nowhere. Liveness is checked by
reading the feed again (its address is the space's status_url): one fetch per feed for
every show of it in a batch. A show the feed no longer lists has ended: publishers turn
a finished live item into an ordinary episode.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

import aiohttp

from core.catalog.records import Observation, SpaceRecord
from core.catalog.states import State
from core.config import Config
from core.extract.feeds import Feed, LiveItem, parse_feed
from core.extract.language import detect_language, hashtags, merge_topics
from core.netguard import ForbiddenTarget
from core.platforms.base import Checking, Outcome, Platform, Probe, Recognise, SpaceRow
from core.platforms.web import GONE_STATUSES
from core.urls import canonical_url
from core.webfetch import ProbeError

MAX_FEED_BYTES = 4 * 1024 * 1024
FEED_ACCEPT = "application/rss+xml, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.1"
#: The statuses the podcast namespace documents, as space states.
STATES = {"pending": State.SCHEDULED, "live": State.LIVE, "ended": State.ENDED}
NAME = "podcast"


class Podcast(Platform):
    """Podcast live shows: read from feeds, checked by reading the feed again."""

    name = NAME
    listen_label = "Listen to the podcast"

    def probe(self, space: SpaceRow, config: Config) -> Probe | None:
        """Check by reading the show's feed (its status_url) again."""
        if not space.status_url:
            return None
        return FeedProbe(space.id, self.name, "feed", space.status_url, space_url=space.url)

    async def check(self, probes: Sequence[Probe], checking: Checking) -> Outcome:
        """Read each feed of the batch once, concurrently, and say what each show is now."""
        by_feed: defaultdict[str, list[Probe]] = defaultdict(list)
        for probe in probes:
            by_feed[probe.target].append(probe)
        found = await asyncio.gather(
            *(_check_feed(feed, batch, checking) for feed, batch in by_feed.items())
        )
        outcome = Outcome()
        for observations in found:
            outcome.observations.update(observations)
        return outcome


@dataclass(frozen=True)
class FeedProbe(Probe):
    """A check of one live show: its feed is the target, its space URL picks its item."""

    space_url: str = ""


def record_from_live_item(item: LiveItem, feed_url: str, *, recognise: Recognise) -> SpaceRecord:
    """Return the space a feed's live item describes, its state as the feed gives it.

    When the item's link is a space another platform knows by its address (an X
    Space), that space is what the show announces: the record is that platform's,
    provisional and without a state, since the feed's owner may not run that space.
    An item with neither a link nor a guid has no address: ValueError. `recognise` is
    the registry's, passed in since the registry lists this platform too.
    """
    feed = canonical_url(feed_url)
    recognised = recognise(item.url) if item.url else None
    if recognised is not None:
        platform, link = recognised
        return platform.shared_record(link, item.title, item.description)
    url = show_url(item, feed)
    if not url:
        raise ValueError("a live item with neither a link nor a guid cannot be told apart")
    state = STATES.get(item.status)
    scheduled, started, ended = _times(state, item)
    return SpaceRecord(
        url=url,
        platform=NAME,
        title=item.title,
        description=item.description,
        state=state,
        scheduled_start=scheduled,
        started_at=started,
        ended_at=ended,
        topics=merge_topics(hashtags(item.title, item.description)),
        lang=detect_language(item.title, item.description),
        status_url=feed,
    )


def live_records(feed: Feed, feed_url: str, *, recognise: Recognise) -> list[SpaceRecord]:
    """Return the space of every live item of a parsed feed that can be told apart.

    `recognise` is the registry's (see record_from_live_item).
    """
    records: dict[str, SpaceRecord] = {}
    for item in feed.live_items:
        if show_url(item, feed_url):
            record = record_from_live_item(item, feed_url, recognise=recognise)
            records.setdefault(record.url, record)
    return list(records.values())


def show_url(item: LiveItem, feed: str) -> str:
    """Return a live show's canonical URL: its page, else the feed's address and its guid."""
    page = canonical_url(item.url) if item.url else ""
    if page:
        return page
    return f"{feed}#{quote(item.guid, safe='')}" if item.guid else ""


def observe(item: LiveItem) -> Observation:
    """Return what a live item says of its show now."""
    state = STATES.get(item.status)
    if state is None:
        return Observation(None, error=f"the feed gives the show an unknown status {item.status!r}")
    scheduled, started, ended = _times(state, item)
    return Observation(
        state,
        title=item.title or None,
        scheduled_start=scheduled,
        started_at=started,
        ended_at=ended,
    )


Times = tuple[datetime | None, datetime | None, datetime | None]


def _times(state: State | None, item: LiveItem) -> Times:
    """Return a show's scheduled start, start and end in UTC (what the catalog stores).

    It has started once live, and its end is known once it ended.
    """
    start = item.start.astimezone(UTC) if item.start else None
    end = item.end.astimezone(UTC) if item.end else None
    ran = state in (State.LIVE, State.ENDED)
    return start, start if ran else None, end if state is State.ENDED else None


async def _check_feed(
    feed_url: str, probes: list[Probe], checking: Checking
) -> dict[int, Observation]:
    """Read one feed and say what each show checked in it is now; never raise."""
    try:
        status, body, _charset = await checking.fetch.get(feed_url, FEED_ACCEPT, MAX_FEED_BYTES)
        if status in GONE_STATUSES:
            return {probe.space_id: Observation(State.GONE) for probe in probes}
        if status != 200:
            raise ProbeError(f"feed answered HTTP {status}")
        feed = parse_feed(body, feed_url)
        if not feed.kind:
            raise ProbeError("the feed is no longer a feed")
    except ForbiddenTarget as refused:
        return _failed(probes, f"refused: {refused}")
    except ProbeError as error:
        return _failed(probes, str(error))
    except TimeoutError:
        return _failed(probes, f"no answer within {checking.timeout_s:g} s")
    except aiohttp.ClientError as error:
        return _failed(probes, f"{type(error).__name__}: {error}"[:500])
    shows = {show_url(item, feed_url): item for item in feed.live_items}
    observations = {}
    for probe in probes:
        item = shows.get(probe.space_url) if isinstance(probe, FeedProbe) else None
        # A show the feed no longer lists has ended (it became an ordinary episode).
        observations[probe.space_id] = observe(item) if item else Observation(State.ENDED)
    return observations


def _failed(probes: list[Probe], message: str) -> dict[int, Observation]:
    return {probe.space_id: Observation(None, error=message) for probe in probes}
