"""Scheduled, live, ended: each change shows in the status JSON and in `state` at once."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import aiohttp

from rooms.client import connect_control, create_room
from rooms.store import isoformat, utcnow
from tests.rooms.conftest import ServerThread, host_token, run


async def status(server: ServerThread, room_id: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/api/rooms/{room_id}") as resp,
    ):
        return json.loads(await resp.text())


def states(connection) -> list[str]:
    return [m["state"] for m in connection.messages if m["type"] == "state"]


def test_start_and_end_reach_the_status_and_everyone_in_the_room(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        when = isoformat(utcnow() + timedelta(hours=1))
        room = await create_room(server.url, token, title="Soon", scheduled_start=when)
        host = await connect_control(server.url, room["id"], token, role="host", start=False)
        try:
            await host.wait_message("state", state="scheduled")
            assert (await status(server, room["id"]))["state"] == "scheduled"
            await host.call({"type": "start"})
            # The status answers from the room's record: live as soon as start is done.
            assert (await status(server, room["id"]))["state"] == "live"
            await host.wait_message("state", state="live")
            listener = await connect_control(server.url, room["id"])
            await listener.wait_message("state", state="live")
            await host.send({"type": "end"})
            await asyncio.wait_for(listener.ended.wait(), 10)
            # A last `state` says ended, before the `ended` that closes the connection.
            kinds = [m["type"] for m in listener.messages]
            assert states(listener)[-1] == "ended"
            assert kinds.index("ended") > len(kinds) - 1 - kinds[::-1].index("state")
            final = [m for m in listener.messages if m["type"] == "state"][-1]
            assert final["listener_count"] == 0 and final["audience"] == []
            ended = await status(server, room["id"])
            assert ended["state"] == "ended" and ended["ended_at"]
            assert ended["speaker_count"] == 0 and ended["listener_count"] == 0
            await listener.close()
        finally:
            await host.close()

    run(scenario())
