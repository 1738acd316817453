"""The demo host opens its room under one stable id, plays into it, and ends it when stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from rooms.client import join_listener
from rooms.demo import DEMO_ROOM_ID, run_demo_host
from tests.rooms.conftest import SECRET, ServerThread, run


async def _directory_ids(url: str) -> list[str]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/sitemap.xml") as resp:
        text = await resp.text()
    return [part.split("</loc>")[0].rsplit("/", 1)[1] for part in text.split("<loc>")[1:]]


async def _status(url: str, room_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/api/rooms/{room_id}") as resp,
    ):
        return await resp.json()


async def _play_demo(server: ServerThread, rooms_data: Path) -> str:
    """Run the demo host, hear it as a listener, stop it; return the room id."""
    stop = asyncio.Event()
    task = asyncio.ensure_future(run_demo_host(server.url, SECRET, stop=stop, data_dir=rooms_data))
    for _ in range(100):
        ids = await _directory_ids(server.url)
        if ids and (await _status(server.url, ids[0]))["state"] == "live":
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
    return ids[0]


def test_demo_host_plays_until_stopped(server: ServerThread, rooms_data: Path) -> None:
    assert run(_play_demo(server, rooms_data)) == DEMO_ROOM_ID
    assert (rooms_data / "rooms" / "demo-chime.wav").exists()


def test_demo_room_keeps_its_id_across_restarts(start_server: Any, rooms_data: Path) -> None:
    first = start_server()
    assert run(_play_demo(first, rooms_data)) == DEMO_ROOM_ID
    first.stop()
    second = start_server()  # the same data folder: a restart
    assert run(_play_demo(second, rooms_data)) == DEMO_ROOM_ID
    # One room, one listing: the portal keeps a single demo space that comes back live.
    assert run(_directory_ids(second.url)) == [DEMO_ROOM_ID]
