"""Audio levels: everyone sees who on stage is sounding, a few times a second, only then."""

from __future__ import annotations

import asyncio

from rooms.client import connect_control, create_room, join_host, join_listener
from rooms.mixer import LEVELS_PER_S, audio_level
from tests.rooms.conftest import ServerThread, host_token, run


def levels(connection) -> list[dict[str, float]]:
    return [m["levels"] for m in connection.messages if m["type"] == "levels"]


async def until(check, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


def test_audio_level_maps_loudness_to_zero_one() -> None:
    assert audio_level(0.0) == 0.0
    assert audio_level(10.0**2) == 0.0  # -70 dBFS: below the floor
    quiet, loud = audio_level(300.0**2), audio_level(10000.0**2)
    assert 0.0 < quiet < loud < 1.0
    assert audio_level(40000.0**2) == 1.0
    assert round(loud, 2) == loud


def test_listeners_see_the_talker_level_rise_and_fall_back_to_zero(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Levels")
        listener = await join_listener(server.url, room["id"], keep_seconds=0)
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        try:
            await until(lambda: any(lv.get(host.peer_id, 0) > 0.5 for lv in levels(listener)))
            sounding = [lv[host.peer_id] for lv in levels(listener) if lv.get(host.peer_id)]
            assert all(0.0 < value <= 1.0 and round(value, 2) == value for value in sounding)
            # A capped rate: however many frames are mixed, a few messages a second.
            before = len(levels(listener))
            await asyncio.sleep(2.0)
            assert len(levels(listener)) - before <= 2 * LEVELS_PER_S + 2
            await host.mute(True)
            await until(lambda: levels(listener)[-1].get(host.peer_id) == 0)
            await until(lambda: levels(host)[-1].get(host.peer_id) == 0)
            assert levels(host)[-1] == levels(listener)[-1]  # the same message for everyone
            # Silence on stage: nothing more is sent.
            quiet = len(levels(listener))
            await asyncio.sleep(1.0)
            assert len(levels(listener)) == quiet
            await host.mute(False)
            await until(lambda: levels(listener)[-1].get(host.peer_id, 0) > 0.5)
        finally:
            await listener.close()
            await host.close()

    run(scenario())


def test_no_levels_in_a_room_where_nobody_talks(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Silent")
        host = await connect_control(server.url, room["id"], token, role="host")
        listener = await join_listener(server.url, room["id"], keep_seconds=0)
        try:
            await until(lambda: bool(listener.state))
            await asyncio.sleep(1.0)
            assert levels(listener) == [] and levels(host) == []
        finally:
            await listener.close()
            await host.close()

    run(scenario())
