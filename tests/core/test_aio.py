import asyncio
import threading

from core import aio


async def where() -> str:
    await asyncio.sleep(0)
    return threading.current_thread().name


def test_a_coroutine_runs_here_when_no_loop_runs() -> None:
    assert aio.run(where()) == threading.current_thread().name


def test_a_coroutine_runs_beside_a_loop_already_running_in_this_thread() -> None:
    async def caller() -> str:
        return aio.run(where())  # blocking the caller's loop briefly, as sync code does

    assert asyncio.run(caller()).startswith("aio")
