"""Pings reach a portal that was down or busy when the room opened or ended."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from rooms.ping import Pinger
from tests.rooms.conftest import free_port, run


async def _portal(port: int, answers: list[int], got: list[dict[str, Any]]) -> web.AppRunner:
    """Start a stand-in portal answering each ping with the next status of `answers`."""

    async def ping(request: web.Request) -> web.Response:
        got.append(await request.json())
        return web.json_response({}, status=answers.pop(0) if answers else 202)

    app = web.Application()
    app.router.add_post("/api/v1/ping", ping)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _wait_for(got: list[Any], count: int, seconds: float) -> None:
    for _ in range(int(seconds / 0.05)):
        if len(got) >= count:
            return
        await asyncio.sleep(0.05)


def test_a_ping_reaches_a_portal_that_comes_up_later() -> None:
    async def scenario() -> list[dict[str, Any]]:
        port = free_port()
        pinger = Pinger(f"http://127.0.0.1:{port}", timeout_s=1.0)
        pinger.ping("http://rooms.test/s/abc")
        await asyncio.sleep(0.3)  # the first try finds nobody listening
        got: list[dict[str, Any]] = []
        runner = await _portal(port, [], got)
        try:
            await _wait_for(got, 1, 5.0)
        finally:
            await pinger.close()
            await runner.cleanup()
        return got

    assert run(scenario()) == [{"url": "http://rooms.test/s/abc"}]


def test_a_busy_portal_is_asked_again_and_a_refusal_is_final() -> None:
    async def scenario() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        busy: list[dict[str, Any]] = []
        refused: list[dict[str, Any]] = []
        busy_port, refused_port = free_port(), free_port()
        runners = [
            await _portal(busy_port, [503], busy),
            await _portal(refused_port, [400, 400], refused),
        ]
        busy_pinger = Pinger(f"http://127.0.0.1:{busy_port}", timeout_s=1.0)
        refused_pinger = Pinger(f"http://127.0.0.1:{refused_port}", timeout_s=1.0)
        busy_pinger.ping("http://rooms.test/s/busy")
        refused_pinger.ping("http://rooms.test/s/refused")
        try:
            await _wait_for(busy, 2, 5.0)
            await asyncio.sleep(1.5)  # long enough for a retry of the refused one, if any
        finally:
            for pinger in (busy_pinger, refused_pinger):
                await pinger.close()
            for runner in runners:
                await runner.cleanup()
        return busy, refused

    busy, refused = run(scenario())
    assert len(busy) == 2  # 503, then accepted
    assert len(refused) == 1


def test_closing_gives_up_on_retries_at_once() -> None:
    async def scenario() -> float:
        pinger = Pinger(f"http://127.0.0.1:{free_port()}", timeout_s=2.0)
        pinger.ping("http://rooms.test/s/gone")
        await asyncio.sleep(0.3)  # refused, now waiting to try again
        loop = asyncio.get_running_loop()
        started = loop.time()
        await pinger.close()
        return loop.time() - started

    assert run(scenario()) < 1.0
