"""Poll sources that are not web pages: run their readers, land what they found, report.

Many sources are polled at once in one process (each host still gets one request at a
time, see crawler.sources.http), which is what lets one process poll thousands of
sources an hour. Each poll's spaces are written through the catalog's functions as
soon as it ends; its outcome (reason code, status, new cursor) is reported as a
`polled` event for the worker to record on the source.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp

from core.config import Config
from core.services import Services
from crawler.items import FoundSpace
from crawler.pipelines import write_item
from crawler.sources import READERS
from crawler.sources.base import SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.found import spaces_in_poll
from crawler.sources.http import HELD_VALIDATORS, Http, Validators

log = logging.getLogger(__name__)

#: Polls in flight at once in one process.
CONCURRENCY = 64
#: The longest one poll may take, whatever its reader does.
POLL_TIMEOUT_S = 60.0

Emit = Callable[[dict[str, Any]], None]


@dataclass
class Polled:
    """How one poll went: what the worker records on the source."""

    url: str
    kind: str
    source: int | None = None
    reason: str = ""  # "" when it succeeded; else a crawler.sources.base.REASONS code
    error: str = ""
    status: int = 0
    cursor: str | None = None
    retry_after_s: float = 0.0
    spaces: int = 0
    posts: int = 0
    duration_s: float = 0.0


async def poll_sources(
    specs: Sequence[SourceSpec],
    config: Config,
    services: Services | None,
    emit: Emit,
    *,
    concurrency: int = CONCURRENCY,
) -> list[Polled]:
    """Poll every source in `specs` once, landing spaces in the catalog; emit events."""
    limit = asyncio.Semaphore(concurrency)
    redis = services.redis if services is not None else None
    async with (
        Http.session_for(config.crawl_allow) as session,
        aiohttp.ClientSession() as api_session,
    ):
        http = Http(
            session,
            config.crawl_allow,
            user_agent=config.user_agent,
            config=config,
            redis=redis,
            api_session=api_session,
        )

        async def one(spec: SourceSpec) -> Polled:
            async with limit:
                return await _poll(spec, http, services, emit)

        return list(await asyncio.gather(*(one(spec) for spec in specs)))


async def _poll(spec: SourceSpec, http: Http, services: Services | None, emit: Emit) -> Polled:
    started = time.monotonic()
    polled = Polled(url=spec.url, kind=spec.kind, source=spec.id)
    held: dict[str, Validators] = {}
    HELD_VALIDATORS.set(held)  # this poll's task only: each poll runs in a task of its own
    reader = READERS.get(spec.kind)
    try:
        if reader is None:
            raise SourceError("parse", f"no reader for sources of kind {spec.kind!r}")
        poll = await asyncio.wait_for(reader.poll(spec, http), POLL_TIMEOUT_S)
    except SourceError as failed:
        polled.reason, polled.error = failed.reason, str(failed)
        polled.status, polled.retry_after_s = failed.status, failed.retry_after_s
    except TimeoutError:
        polled.reason, polled.error = (
            "timeout",
            f"{spec.url}: the poll took over {POLL_TIMEOUT_S:.0f} s",
        )
    except Exception as failed:  # a reader's bug must not take the other polls down
        log.exception("polling %s failed", spec.url)
        polled.reason, polled.error = "parse", f"{spec.url}: {type(failed).__name__}: {failed}"
    else:
        polled.status, polled.cursor, polled.posts = poll.status, poll.cursor, len(poll.posts)
        items = spaces_in_poll(poll)
        polled.spaces = len(items)
        if _land(items, services, spec.url):
            http.keep(held)
        for item in items:
            record = item.record
            emit({"event": "space", "url": record.url, "title": record.title,
                  "state": str(record.state or ""), "page": item.page_url,
                  "source": spec.id})  # fmt: skip
    polled.duration_s = round(time.monotonic() - started, 3)
    if polled.reason:
        emit({"event": "error", "url": spec.url, "error": polled.error, "reason": polled.reason})
    emit({"event": "polled", **asdict(polled)})
    return polled


def _land(items: list[FoundSpace], services: Services | None, url: str) -> bool:
    """Write a poll's items in one transaction; if that fails, one by one. Say if all were."""
    if services is None or not items:
        return True
    try:
        with services.catalog.session() as session:
            for item in items:
                write_item(session, item)
    except Exception:
        log.exception("writing %d spaces from %s failed; retrying one by one", len(items), url)
        written = True
        for item in items:
            try:
                with services.catalog.session() as session:
                    write_item(session, item)
            except Exception:
                log.exception("could not write the space at %s", item.record.url)
                written = False
        return written
    return True
