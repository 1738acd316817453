"""Delete recordings kept past their time (30 days after the space ended by default).

`purge` is idempotent and safe to run from a job as well as from the room server,
which runs it every PURGE_EVERY_S. Serving never depends on it: a recording past its
time is refused (410) even while it is still on disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from aiohttp import web

from rooms.config import RoomsConfig
from rooms.hub import HUB
from rooms.recording import RECORDINGS, RecordingStore

log = logging.getLogger(__name__)

PURGE_EVERY_S = 3600.0


def store_for(config: RoomsConfig, clock: Callable[[], float] = time.time) -> RecordingStore:
    """Return the recording store of a room server's configuration."""
    return RecordingStore(config.data_dir / "recordings", config.recording_keep_s, clock)


def purge(
    config: RoomsConfig, live: set[str] | None = None, clock: Callable[[], float] = time.time
) -> list[str]:
    """Delete expired recordings (never those of `live` rooms); return their room ids."""
    removed = store_for(config, clock).purge(live or set())
    for room_id in removed:
        log.info("recording of room %s deleted: kept for its full time", room_id)
    return removed


async def _purge_forever(app: web.Application) -> None:
    while True:
        try:
            removed = app[RECORDINGS].purge(set(app[HUB].live))
            if removed:
                log.info("deleted %d expired recordings", len(removed))
        except Exception:
            log.exception("recording purge failed; retrying later")
        await asyncio.sleep(PURGE_EVERY_S)


PURGE_TASK = web.AppKey("rooms_purge_task", asyncio.Task)


def setup(app: web.Application, config: RoomsConfig) -> None:
    """Give the app its recording store and a periodic purge while it runs."""
    # The hub's own store: the status JSON and the downloads agree on what is kept.
    app[RECORDINGS] = app[HUB].recordings

    async def start(app: web.Application) -> None:
        app[PURGE_TASK] = asyncio.ensure_future(_purge_forever(app))

    async def stop(app: web.Application) -> None:
        app[PURGE_TASK].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app[PURGE_TASK]

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
