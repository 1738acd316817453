"""Run a coroutine to its end from code that is not async, whether or not a loop runs here."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Return what `coroutine` returns, run on a fresh event loop.

    A job or a request handler has no loop of its own and gets one here. A caller whose
    thread already runs a loop (an application embedding us, a browser driver in a
    test) cannot block it with another: the coroutine then runs in a thread beside it.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with ThreadPoolExecutor(1, thread_name_prefix="aio") as beside:
        return beside.submit(asyncio.run, coroutine).result()
