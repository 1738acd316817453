"""The demo host opens a room, plays into it, and ends it when stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from rooms.client import join_listener
from rooms.demo import run_demo_host
from tests.rooms.conftest import SECRET, ServerThread, run


async def _directory_ids(url: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/sitemap.xml") as resp:
        text = await resp.text()
    return [part.split("</loc>")[0].rsplit("/", 1)[1] for part in text.split("<loc>")[1:]]


def test_demo_host_plays_until_stopped(server: ServerThread, rooms_data: Path) -> None:
    async def scenario() -> None:
        stop = asyncio.Event()
        task = asyncio.ensure_future(
            run_demo_host(server.url, SECRET, stop=stop, data_dir=rooms_data)
        )
        for _ in range(100):
            ids = await _directory_ids(server.url)
            if ids:
                break
            await asyncio.sleep(0.05)
        listener = await join_listener(server.url, ids[0])
        try:
            assert listener.room["title"].startswith("Welcome to Spaces")
            assert listener.room["topics"] == ["demo", "music"]
            for _ in range(100):
                if len(listener.audio()) > 48000 and listener.audio().std() > 500:
                    break
                await asyncio.sleep(0.05)
            assert listener.audio().std() > 500
            stop.set()
            await asyncio.wait_for(task, 10)
            await asyncio.wait_for(listener.ended.wait(), 5)
        finally:
            await listener.close()

    run(scenario())
    assert (rooms_data / "rooms" / "demo-chime.wav").exists()
