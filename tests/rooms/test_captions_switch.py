"""The transcriber runs only while at least one connected person has captions on."""

from __future__ import annotations

import asyncio

import pytest

from rooms.client import RoomClientError, connect_control, create_room
from rooms.hub import HUB
from tests.rooms.conftest import ServerThread, host_token, run


def transcribing(server: ServerThread, room_id: str) -> bool:
    room = server.app[HUB].live[room_id]
    return room.captions.feed in room.mixer.pcm_sinks


async def until(check, timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


def test_captions_start_with_the_first_reader_and_stop_after_the_last(start_server) -> None:
    # No speech is sent, so the speech model is never needed here.
    server = start_server(captions=True)

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Quiet")
        room_id = room["id"]
        host = await connect_control(server.url, room_id, token, role="host")
        ann = await connect_control(server.url, room_id, name="Ann")
        ben = await connect_control(server.url, room_id, name="Ben")
        try:
            assert not transcribing(server, room_id)
            assert (await ann.call({"type": "captions", "on": True}, "captions"))["on"] is True
            assert transcribing(server, room_id)
            await host.call({"type": "captions", "on": True}, "captions")
            await ann.call({"type": "captions", "on": False}, "captions")
            assert transcribing(server, room_id)  # the host still reads them
            await ben.call({"type": "captions", "on": True}, "captions")
            await host.call({"type": "captions", "on": False}, "captions")
            assert transcribing(server, room_id)
            await ben.close()  # the last reader leaves without turning them off
            await until(lambda: not transcribing(server, room_id))
        finally:
            for conn in (ann, ben, host):
                await conn.close()

    run(scenario())


def test_captions_unavailable_without_the_speech_model(start_server) -> None:
    server = start_server(captions=False)

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="No captions")
        listener = await connect_control(server.url, room["id"])
        try:
            with pytest.raises(RoomClientError) as error:
                await listener.call({"type": "captions", "on": True}, "captions")
            assert error.value.code == "captions_unavailable"
            assert not transcribing(server, room["id"])
        finally:
            await listener.close()

    run(scenario())
