"""A space's life: scheduled, started by its host, ended, cancelled, or abandoned."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from rooms.client import RoomClientError, connect_control, create_room
from rooms.store import isoformat, utcnow
from tests.rooms.conftest import ServerThread, host_token, run


async def status(server: ServerThread, room_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/api/rooms/{room_id}") as resp,
    ):
        return json.loads(await resp.text())


async def page(server: ServerThread, room_id: str) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{server.url}/s/{room_id}") as r:
        return await r.text()


async def until_state(server: ServerThread, room_id: str, state: str, timeout: float) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while (current := await status(server, room_id))["state"] != state:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"room still {current['state']}, not {state}")
        await asyncio.sleep(0.05)
    return current


def test_host_starts_a_scheduled_space_early(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        when = isoformat(utcnow() + timedelta(hours=2))
        room = await create_room(server.url, token, title="Later today", scheduled_start=when)
        assert room["state"] == "scheduled" and room["scheduled_start"] == when
        html = await page(server, room["id"])
        assert 'content="scheduled"' in html and f'datetime="{when}"' in html
        host = await connect_control(server.url, room["id"], token, role="host", start=False)
        try:
            assert host.room["state"] == "scheduled"
            with pytest.raises(RoomClientError, match="not_live"):
                await connect_control(server.url, room["id"])
            await host.call({"type": "start"})
            live = await status(server, room["id"])
            assert live["state"] == "live" and live["started_at"]
            listener = await connect_control(server.url, room["id"])
            await listener.close()
        finally:
            await host.close()

    run(scenario())


def test_unstarted_scheduled_space_is_cancelled_after_its_grace(start_server: Any) -> None:
    server = start_server(schedule_grace_s=0.5, housekeeping_s=0.1)

    async def scenario() -> None:
        when = isoformat(utcnow() + timedelta(seconds=1.5))
        room = await create_room(server.url, host_token(), title="No-show", scheduled_start=when)
        assert room["state"] == "scheduled"
        ended = await until_state(server, room["id"], "ended", timeout=6)
        assert ended["started_at"] is None and ended["ended_at"] >= when
        assert "was cancelled" in await page(server, room["id"])
        with pytest.raises(RoomClientError, match="ended"):
            await connect_control(server.url, room["id"], host_token(), role="host")

    run(scenario())


def test_space_survives_a_short_host_drop(start_server: Any) -> None:
    server = start_server(host_grace_s=1.5)

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Flaky wifi")
        host = await connect_control(server.url, room["id"], token, role="host")
        listener = await connect_control(server.url, room["id"])
        try:
            await asyncio.sleep(0.3)
            # Nobody heard the host was gone, so nobody is told they are back.
            assert not [
                m for m in host.messages + listener.messages if m.get("code") == "host_back"
            ]
            await host.close()
            notice = await listener.wait_message("notice", code="host_away")
            assert "ends in 2 s" in notice["message"] or "ends in 1 s" in notice["message"]
            host = await connect_control(server.url, room["id"], token, role="host")
            await listener.wait_message("notice", code="host_back")
            await asyncio.sleep(0.3)
            assert not [m for m in host.messages if m.get("code") == "host_back"]
            await asyncio.sleep(2.0)
            assert (await status(server, room["id"]))["state"] == "live"
            assert not listener.ended.is_set()
        finally:
            await listener.close()
            await host.close()

    run(scenario())


def test_space_ends_when_the_host_does_not_return(start_server: Any) -> None:
    server = start_server(host_grace_s=0.5)

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Gone")
        host = await connect_control(server.url, room["id"], token, role="host")
        listener = await connect_control(server.url, room["id"])
        try:
            await asyncio.sleep(0.3)
            # Nobody heard the host was gone, so nobody is told they are back.
            assert not [
                m for m in host.messages + listener.messages if m.get("code") == "host_back"
            ]
            await host.close()
            await asyncio.wait_for(listener.ended.wait(), 5)
            final = await until_state(server, room["id"], "ended", timeout=2)
            assert final["ended_at"]
            with pytest.raises(RoomClientError, match="ended"):
                await connect_control(server.url, room["id"], token, role="host")
        finally:
            await listener.close()

    run(scenario())


def test_host_ends_the_space_for_everyone(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Wrap up")
        host = await connect_control(server.url, room["id"], token, role="host")
        guests = [await connect_control(server.url, room["id"]) for _ in range(3)]
        try:
            await host.send({"type": "end"})
            for conn in (host, *guests):
                await asyncio.wait_for(conn.ended.wait(), 5)
                await asyncio.wait_for(conn.closed.wait(), 5)
            assert (await status(server, room["id"]))["state"] == "ended"
            assert "This space has ended" in await page(server, room["id"])
            with pytest.raises(RoomClientError, match="ended"):
                await connect_control(server.url, room["id"])
        finally:
            for conn in (host, *guests):
                await conn.close()

    run(scenario())
