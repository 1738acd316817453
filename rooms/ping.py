"""Tell the portal that a room opened or ended, best effort, never holding the room up.

A ping that finds the portal down (both starting at once, the portal restarting) or
busy (429, 5xx) is tried again with backoff for about two minutes: a room ended while
the portal was away must still be announced at once when it is back.
"""

from __future__ import annotations

import asyncio
import logging

import aiohttp

log = logging.getLogger(__name__)

# Seconds before each new try of a ping that did not get through.
RETRY_DELAYS_S = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0, 60.0)


class Pinger:
    """POST `{"url": ...}` to the portal's ping endpoint in the background."""

    def __init__(self, portal_url: str, timeout_s: float = 3.0) -> None:
        # An empty portal_url turns pinging off (benchmarks, a server nobody indexes).
        self.endpoint = portal_url.rstrip("/") + "/api/v1/ping" if portal_url else ""
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._first_tries = 0  # pings not tried once yet; closing waits for them

    def ping(self, url: str) -> None:
        """Announce `url` to the portal without waiting for the answer."""
        if not self.endpoint:
            return
        self._first_tries += 1
        task = asyncio.ensure_future(self._post(url))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str) -> None:
        for attempt, delay in enumerate((*RETRY_DELAYS_S, None)):
            try:
                problem = await self._try(url)
            finally:
                if attempt == 0:
                    self._first_tries -= 1
            if problem is None:
                return
            if delay is None:
                log.warning(
                    "portal ping for %s to %s failed for good: %s", url, self.endpoint, problem
                )
                return
            log.info("portal ping for %s failed (%s); trying again in %.0f s", url, problem, delay)
            await asyncio.sleep(delay)

    async def _try(self, url: str) -> str | None:
        """POST once; return None when done, else why it should be tried again."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        try:
            async with self._session.post(self.endpoint, json={"url": url}) as response:
                if response.status == 429 or response.status >= 500:
                    return f"HTTP {response.status}"
                if response.status >= 400:
                    # Refused for good (a bad address, pinging turned off): no retry helps.
                    log.warning("portal ping for %s answered HTTP %s", url, response.status)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return repr(exc)
        return None

    async def close(self) -> None:
        """Wait briefly for pings in flight, give up on retries, close the HTTP session."""
        deadline = asyncio.get_running_loop().time() + (self.timeout.total or 0)
        while self._first_tries and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        if self._session is not None:
            await self._session.close()
            self._session = None
