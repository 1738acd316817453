"""A space is recorded as its listeners heard it; only its host may download it, 30 days."""

from __future__ import annotations

import asyncio
import io
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
            await asyncio.sleep(seconds)
            url = f"{server.url}/api/rooms/{room['id']}/recording"
            status, body, _ = await get(url, token)
            assert status == 409 and b"still live" in body  # not while it is live
        finally:
            await listener.close()
            await host.close()
        await end_room(server.url, room["id"], token)
        return room["id"]

    return run(scenario())


def test_recording_holds_the_mix_and_only_the_host_gets_it(server: ServerThread) -> None:
    room_id = record_a_space(server)
    base = f"{server.url}/api/rooms/{room_id}"

    async def checks() -> None:
        status, body, headers = await get(f"{base}/recording", host_token())
        assert status == 200, body
        assert headers["Content-Type"] == "audio/ogg"
        audio = decode_ogg(body)
        assert len(audio) > 48000  # over a second of the space
        assert abs(peak_hz(audio) - 660.0) < 5
        status, body, _ = await get(f"{base}/captions.vtt", host_token())
        assert status == 200 and body.startswith(b"WEBVTT")
        # Anyone else: a listener, another host, no token at all.
        assert (await get(f"{base}/recording", listen_token()))[0] == 403
        assert (await get(f"{base}/recording", host_token("mallory")))[0] == 403
        assert (await get(f"{base}/captions.vtt", host_token("mallory")))[0] == 403
        assert (await get(f"{base}/recording", None))[0] == 401
        assert (await get(f"{server.url}/api/rooms/nope/recording", host_token()))[0] == 404

    run(checks())


def test_never_served_past_thirty_days_even_before_the_purge(server: ServerThread) -> None:
    room_id = record_a_space(server, seconds=1.0)
    store = server.app[RECORDINGS]
    url = f"{server.url}/api/rooms/{room_id}/recording"
    store.clock = lambda: time.time() + 29 * DAY
    assert run(get(url, host_token()))[0] == 200
    store.clock = lambda: time.time() + 30 * DAY + 60
    status, body, _ = run(get(url, host_token()))
    assert status == 410 and b"30 days" in body
    assert (store.path(room_id) / "audio.ogg").exists()  # still on disk, still refused
    assert store.purge() == [room_id]
    status, body, _ = run(get(url, host_token()))
    assert status == 404 and b"no recording" in body


def test_recordings_survive_a_restart(start_server) -> None:
    first = start_server()
    room_id = record_a_space(first, seconds=1.0)
    first.stop()
    second = start_server()
    status, body, _ = run(get(f"{second.url}/api/rooms/{room_id}/recording", host_token()))
    assert status == 200 and len(decode_ogg(body)) > 24000
