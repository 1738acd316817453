"""One event loop and HTTP sessions per worker process, kept across liveness batches.

Opening a connection costs more than a status request over a warm one; a session
made per batch would open its connections again every batch. So the loop that runs
the batches, and its sessions, live as long as the process.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import aiohttp

from core.webfetch import GuardedResolver

T = TypeVar("T")

CONCURRENCY = 100  # connections per session: bounds the requests in flight
USER_AGENT = "SpacesLiveness/0.1 (+https://github.com/spaces-portal)"

_lock = threading.Lock()
_runner: asyncio.Runner | None = None
_pid = 0
_sessions: dict[tuple[str, ...] | None, aiohttp.ClientSession] = {}


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` on this process's liveness event loop and return its result."""
    global _runner, _pid
    with _lock:
        if _runner is None or _pid != os.getpid():
            # A forked child must not share its parent's loop or sockets.
            _sessions.clear()
            _runner, _pid = asyncio.Runner(), os.getpid()
        return _runner.run(coro)


def session(allow: tuple[str, ...] | None) -> aiohttp.ClientSession:
    """Return the session for crawled URLs under `allow`, or (None) for operator-set APIs.

    Call from inside run(): the session belongs to that loop.
    """
    found = _sessions.get(allow)
    if found is None or found.closed:
        resolver = GuardedResolver(allow) if allow is not None else None
        connector = aiohttp.TCPConnector(
            limit=CONCURRENCY,
            limit_per_host=CONCURRENCY,
            resolver=resolver,
            ttl_dns_cache=60,
        )
        found = aiohttp.ClientSession(connector=connector, headers={"User-Agent": USER_AGENT})
        _sessions[allow] = found
    return found


def close() -> None:
    """Close the sessions and the loop (at exit, or between tests)."""
    global _runner
    with _lock:
        if _runner is None or _pid != os.getpid():
            return
        sessions = list(_sessions.values())
        _sessions.clear()

        async def close_all() -> None:
            for item in sessions:
                await item.close()

        _runner.run(close_all())
        _runner.close()
        _runner = None


atexit.register(close)
