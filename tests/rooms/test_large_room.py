"""A large room tells its audience counts, not a state per listener who comes or goes."""

from __future__ import annotations

import asyncio
from typing import Any

from rooms.client import RoomConnection, connect_control, create_room
from rooms.room import LARGE_ROOM
from tests.rooms.conftest import ServerThread, host_token, run
from tests.rooms.test_speaking import until

CROWD = 60


def _kinds(conn: RoomConnection, since: int, kind: str) -> list[dict[str, Any]]:
    return [m for m in conn.messages[since:] if m["type"] == kind]


def test_listeners_coming_and_going_reach_a_large_audience_as_counts(
    server: ServerThread,
) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Stadium")
        host = await connect_control(server.url, room["id"], token, role="host")
        observer = await connect_control(server.url, room["id"], name="Watcher")
        crowd: list[RoomConnection] = []
        try:
            crowd += await asyncio.gather(
                *(connect_control(server.url, room["id"]) for _ in range(LARGE_ROOM + 1))
            )
            await until(lambda: host.state.get("listener_count") == LARGE_ROOM + 2)
            await asyncio.sleep(0.6)  # the state of the crowd's arrival has gone out
            seen, moderated = len(observer.messages), len(host.messages)
            # Joins and leaves spaced wider than the state delay, so none are merged.
            for _ in range(CROWD - LARGE_ROOM - 2):  # up to CROWD listeners
                crowd.append(await connect_control(server.url, room["id"]))
                await asyncio.sleep(0.6)
            for conn in crowd[-4:]:
                await conn.close()
                await asyncio.sleep(0.6)
            await until(
                lambda: any(
                    m["listener_count"] == CROWD - 4 for m in _kinds(observer, seen, "counts")
                )
            )
            states = _kinds(observer, seen, "state")
            counts = _kinds(observer, seen, "counts")
            print(
                f"\n{len(states)} states, {len(counts)} counts to a listener for "
                f"{CROWD - LARGE_ROOM - 2 + 4} changes"
            )
            assert states == []
            assert 1 <= len(counts) <= 4  # at most one every 3 s
            assert set(counts[-1]) == {"type", "listener_count", "speaker_count"}
            assert counts[-1]["speaker_count"] == 1
            # The host keeps a live guests panel, and a newcomer gets the state once.
            panels = _kinds(host, moderated, "state")
            await until(lambda: host.state["listener_count"] == CROWD - 4)
            assert len(panels) >= 8 and len(host.state["listeners"]) == CROWD - 4
            assert _kinds(crowd[LARGE_ROOM + 1], 0, "state")
        finally:
            await asyncio.gather(*(c.close() for c in (*crowd, observer, host)))

    run(scenario())


def test_a_small_room_still_shows_every_arrival(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Kitchen")
        host = await connect_control(server.url, room["id"], token, role="host")
        observer = await connect_control(server.url, room["id"], name="Watcher")
        guest = await connect_control(server.url, room["id"], name="Ada")
        try:
            await until(
                lambda: (
                    [p["name"] for p in observer.state.get("audience", [])] == ["Watcher", "Ada"]
                )
            )
            assert not _kinds(observer, 0, "counts")
        finally:
            for conn in (guest, observer, host):
                await conn.close()

    run(scenario())
