"""Stay subscribed to every Nostr relay source and land each activity the moment it arrives.

`python -m crawler.relays` reads the relay sources (kind "nostr") from the catalog,
holds one subscription per relay, and writes each verified live activity through the
catalog's functions as soon as it arrives: a space that goes live, or ends, shows so
within a second of its provider saying so (push, not poll). It reconnects with an
exponential backoff, picks up added, changed and removed sources every REFRESH_S, and
holds every relay to the private-address guard, a size cap and an event rate cap
(crawler.sources.nostr_gate).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import signal
import time
from dataclasses import dataclass, replace

import aiohttp

from core.catalog.db import Catalog
from core.catalog.records import SpaceRecord
from core.catalog.sources import list_sources
from core.catalog.spaces import record_observation, record_sighting, upsert_space
from core.config import Config
from core.logs import setup_logging
from core.platforms.nostr import Nostr
from core.platforms.web import observation_of
from core.services import Services, build_services
from crawler.sources.errors import SourceError
from crawler.sources.http import Http
from crawler.sources.nostr import (
    Pages,
    connect,
    relay_topics,
    request_filter,
    since_of,
    space_of,
    subscription_id,
)
from crawler.sources.nostr_gate import Gate

log = logging.getLogger(__name__)

#: How often the list of relay sources is read again.
REFRESH_S = 10.0
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 300.0
#: A connection that lasted this long was a good one: the next failure starts afresh.
STEADY_S = 30.0


@dataclass(frozen=True)
class RelaySource:
    """A relay to stay subscribed to: where, for which tags, from when."""

    url: str
    tags: tuple[str, ...]
    since: int | None = None


def write_activity(
    catalog: Catalog, record: SpaceRecord, page_url: str, *, interval_s: float
) -> bool:
    """Write one activity's space and where it was seen; return True if its state changed.

    A Nostr space's new state is recorded as an observation (with its state change), as
    a liveness check's would be: the event is the space's own word, just now.
    """
    observation = None
    if record.platform == Nostr.name and record.state is not None:
        observation = observation_of(record)
        record = replace(record, state=None)
    with catalog.session() as session:
        space = upsert_space(session, record)
        session.flush()  # a new space needs its id for the check and the sighting
        changed = False
        if observation is not None:
            changed = record_observation(session, space, observation, interval_s=interval_s)
        record_sighting(session, space, page_url)
    return changed


class RelayLink:
    """One relay's subscription: kept open, reconnected, its messages gated and landed."""

    def __init__(self, source: RelaySource, subscriber: Subscriber) -> None:
        self.source = source
        self.subscriber = subscriber
        self.gate = Gate(source.url, list(source.tags))
        self.since = source.since

    async def run(self) -> None:
        """Stay subscribed until cancelled, backing off exponentially while it fails."""
        delay = BACKOFF_FIRST_S
        while True:
            started = time.monotonic()
            try:
                await self._subscribe()
                reason = "closed"
            except SourceError as failed:
                reason = failed.reason
                self._failed(reason, str(failed))
            except (aiohttp.ClientError, OSError) as failed:  # the connection dropped
                reason = "connect"
                self._failed(reason, f"the connection broke: {type(failed).__name__}: {failed}")
            except Exception:  # a bug must not end the subscription for good
                reason = "parse"
                log.exception("relay %s: subscription failed", self.source.url)
            if time.monotonic() - started >= STEADY_S:
                delay = BACKOFF_FIRST_S
            log.debug("relay %s: %s; again in %.1f s", self.source.url, reason, delay)
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, BACKOFF_MAX_S)

    def _failed(self, reason: str, message: str) -> None:
        self.gate.tell_once(
            f"error:{reason}",
            f"relay {self.source.url}: {message} ({reason}); trying again with a backoff",
            level=logging.WARNING,
        )

    async def _subscribe(self) -> None:
        http = self.subscriber.http
        socket = await connect(self.source.url, http)
        sub = subscription_id()
        try:
            flt = request_filter(list(self.source.tags), self.since)
            await socket.send_str(json.dumps(["REQ", sub, flt]))
            async for message in socket:
                if message.type != aiohttp.WSMsgType.TEXT:
                    continue
                verb, event = self.gate.read(message.data, sub)
                if event is not None:
                    self.since = max(self.since or 0, event["created_at"])
                    await self.subscriber.land(event, self)
                elif verb == "CLOSED":
                    raise SourceError("refused", f"relay {self.source.url} closed our subscription")
                if self.gate.flooding:
                    raise SourceError("rate_limited", "it keeps sending events past the cap")
            if socket.exception() is not None:  # a frame past the size cap, say
                self.gate.refuse("too_large", f"a frame could not be read ({socket.exception()})")
        finally:
            await socket.close()


class Subscriber:
    """Every relay link of one process, following the catalog's list of relay sources."""

    def __init__(self, services: Services, config: Config) -> None:
        self.services = services
        self.config = config
        self.links: dict[str, tuple[RelayLink, asyncio.Task[None]]] = {}
        self.pages = Pages()
        self.http: Http
        self._writes = asyncio.Lock()

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the relay sources until `stop` is set; then close every subscription."""
        allow = self.config.crawl_allow
        async with Http.session_for(allow) as session:
            self.http = Http(session, allow, user_agent=self.config.user_agent, config=self.config)
            try:
                while not stop.is_set():
                    try:
                        await self.refresh()
                    except Exception:  # the catalog may be busy: keep what runs, ask again
                        log.exception("could not read the relay sources")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), REFRESH_S)
            finally:
                for _link, task in self.links.values():
                    task.cancel()
                await asyncio.gather(*(t for _l, t in self.links.values()), return_exceptions=True)
                self.links.clear()

    async def refresh(self) -> None:
        """Start links to new relay sources, restart changed ones, stop removed ones."""
        wanted = {source.url: source for source in await asyncio.to_thread(self._sources)}
        for url, (link, task) in list(self.links.items()):
            source = wanted.get(url)
            if source is None or source.tags != link.source.tags:
                task.cancel()
                del self.links[url]
                log.info("relay %s: unsubscribed", url)
        for url, source in wanted.items():
            if url not in self.links:
                link = RelayLink(source, self)
                self.links[url] = (link, asyncio.create_task(link.run(), name=f"relay {url}"))
                log.info("relay %s: subscribing to tags %s", url, ",".join(source.tags) or "(any)")

    def _sources(self) -> list[RelaySource]:
        with self.services.catalog.session() as session:
            return [
                RelaySource(source.url, tuple(relay_topics(source.query)), since_of(source.cursor))
                for source in list_sources(session)
                if source.kind == "nostr" and not source.paused
            ]

    async def land(self, event: dict[str, object], link: RelayLink) -> None:
        """Write one verified activity to the catalog now (an invalid one is refused)."""
        try:
            record, page_url = await space_of(dict(event), link.source.url, self.http, self.pages)
        except ValueError as refused:  # InvalidEvent: a private room, say
            link.gate.refuse(getattr(refused, "reason", "parse"), str(refused))
            return
        interval = self.config.live_check_interval_s
        async with self._writes:  # one writer at a time: SQLite takes one anyway
            try:
                changed = await asyncio.to_thread(
                    write_activity, self.services.catalog, record, page_url, interval_s=interval
                )
            except Exception:
                log.exception("could not write the activity %s", record.url)
                return
        if changed:
            log.info("space %s is now %s (relay %s)", record.url, record.state, link.source.url)


async def serve(config: Config, stop: asyncio.Event | None = None) -> None:
    """Run the subscriber with the catalog's services until stopped (SIGTERM or SIGINT)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signum, stop.set)
    services = build_services(config)
    try:
        await Subscriber(services, config).run(stop)
    finally:
        services.close()


def main(argv: list[str] | None = None) -> None:
    """Subscribe to the configured relays until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m crawler.relays", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log every subscription")
    args = parser.parse_args(argv)
    setup_logging(verbose=args.verbose)
    asyncio.run(serve(Config.from_env()))


if __name__ == "__main__":
    main()
