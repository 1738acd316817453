"""A space is recorded as its listeners heard it; once ended, anyone may replay it, 30 days."""

from __future__ import annotations

import asyncio
import io
import json
import time

import aiohttp
import av
import numpy as np

from rooms.client import create_room, end_room, join_host, join_listener
from rooms.recording import RECORDINGS
from tests.rooms.conftest import ServerThread, host_token, listen_token, run

DAY = 86400.0


async def get(url: str, token: str | None) -> tuple[int, bytes, dict[str, str]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


def decode_ogg(data: bytes) -> np.ndarray:
    with av.open(io.BytesIO(data)) as container:
        assert container.streams.audio[0].codec_context.name == "opus"
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


def peak_hz(samples: np.ndarray, rate: int = 48000) -> float:
    spectrum = np.abs(np.fft.rfft(samples[-rate:].astype(float)))
    return float(np.argmax(spectrum) * rate / min(len(samples), rate))


def record_a_space(server: ServerThread, seconds: float = 2.5) -> str:
    async def scenario() -> str:
        token = host_token()
        room = await create_room(server.url, token, title="Recorded")
        host = await join_host(server.url, room["id"], token, tone_hz=660.0)
        listener = await join_listener(server.url, room["id"])
        try:
            # The clock starts once the room's audio flows: on a busy machine connecting
            # alone can take seconds, which would leave the recording short.
            deadline = time.monotonic() + 30
            while listener.frame_count < 10 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            await asyncio.sleep(seconds)
            status, body, _ = await get(f"{server.url}/api/rooms/{room['id']}", None)
            assert json.loads(body)["recording_url"] == ""  # no replay while live
            url = f"{server.url}/api/rooms/{room['id']}/recording"
            status, body, _ = await get(url, token)
            assert status == 409 and b"still live" in body
            assert "error" in json.loads(body)
        finally:
            await listener.close()
            await host.close()
        await end_room(server.url, room["id"], token)
        return room["id"]

    return run(scenario())


def test_ended_space_is_a_replay_anyone_can_play(server: ServerThread) -> None:
    room_id = record_a_space(server)
    base = f"{server.url}/api/rooms/{room_id}"

    async def checks() -> None:
        status, body, _ = await get(base, None)
        room = json.loads(body)
        assert room["recording_url"] == f"/api/rooms/{room_id}/recording"
        assert room["transcript_url"] == ""  # nobody turned captions on
        # Anyone: no token at all, a listener, another host.
        for token in (None, listen_token(), host_token("mallory"), host_token()):
            status, body, headers = await get(server.url + room["recording_url"], token)
            assert status == 200, body
            assert headers["Content-Type"] == "audio/ogg"
            assert headers["Access-Control-Allow-Origin"] == "*"
        audio = decode_ogg(body)
        assert len(audio) > 48000  # over a second of the space
        assert abs(peak_hz(audio) - 660.0) < 5
        status, body, _ = await get(f"{base}/captions.vtt", None)
        assert status == 404 and b"no captions" in body and "error" in json.loads(body)
        status, body, _ = await get(f"{server.url}/api/rooms/nope/recording", None)
        assert status == 404 and "error" in json.loads(body)

    run(checks())


def test_never_served_past_thirty_days_even_before_the_purge(server: ServerThread) -> None:
    room_id = record_a_space(server, seconds=1.0)
    store = server.app[RECORDINGS]
    url = f"{server.url}/api/rooms/{room_id}/recording"
    store.clock = lambda: time.time() + 29 * DAY
    assert run(get(url, None))[0] == 200
    store.clock = lambda: time.time() + 30 * DAY + 60
    status, body, _ = run(get(url, None))
    assert status == 410 and b"30 days" in body and "error" in json.loads(body)
    status, body, _ = run(get(f"{server.url}/api/rooms/{room_id}", None))
    assert json.loads(body)["recording_url"] == ""  # gone: no link to a 410
    assert (store.path(room_id) / "audio.ogg").exists()  # still on disk, still refused
    assert store.purge() == [room_id]
    status, body, _ = run(get(url, None))
    assert status == 404 and b"no recording" in body


def test_recordings_survive_a_restart(start_server) -> None:
    first = start_server()
    room_id = record_a_space(first, seconds=1.0)
    first.stop()
    second = start_server()
    status, body, _ = run(get(f"{second.url}/api/rooms/{room_id}/recording", None))
    assert status == 200 and len(decode_ogg(body)) > 24000
