"""Tell the portal that a room opened or ended, best effort, never holding the room up."""

from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)


class Pinger:
    """POST `{"url": ...}` to the portal's ping endpoint in the background."""

    def __init__(self, portal_url: str, timeout_s: float = 3.0) -> None:
        # An empty portal_url turns pinging off (benchmarks, a server nobody indexes).
        self.endpoint = portal_url.rstrip("/") + "/api/v1/ping" if portal_url else ""
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def ping(self, url: str) -> None:
        """Announce `url` to the portal without waiting for the answer."""
        if not self.endpoint:
            return
        task = asyncio.ensure_future(self._post(url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.endpoint, json={"url": url}) as response:
                if response.status >= 400:
                    log.warning("portal ping for %s answered HTTP %s", url, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            log.warning("portal ping for %s to %s failed: %r", url, self.endpoint, exc)

    async def close(self) -> None:
        """Wait briefly for pings in flight, then close the HTTP session."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=self.timeout.total)
        if self._session is not None:
            await self._session.close()
            self._session = None
