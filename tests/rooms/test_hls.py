"""HLS: a live room's playlist advances, its segments decode to the room's audio."""

from __future__ import annotations

import asyncio
import io
import re
import time

import aiohttp
import av
import numpy as np

from rooms.client import create_room, end_room, join_host
from tests.rooms.conftest import ServerThread, host_token, run


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes, dict[str, str]]:
    async with session.get(url) as resp:
        return resp.status, await resp.read(), dict(resp.headers)


def segments(playlist: bytes) -> list[str]:
    return re.findall(r"^(seg\d+\.m4s)$", playlist.decode(), flags=re.M)


def test_playlist_updates_and_segments_carry_the_tone(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Streamed")
        assert room["hls_url"] == f"{server.url}/hls/{room['id']}/index.m3u8"
        host = await join_host(server.url, room["id"], token, tone_hz=880.0)
        base = room["hls_url"].rsplit("/", 1)[0]
        started = time.monotonic()
        try:
            async with aiohttp.ClientSession() as session:
                seen: list[list[str]] = []
                while len(seen) < 2 or seen[-1] == seen[0]:
                    assert time.monotonic() - started < 8, f"playlist did not advance: {seen}"
                    status, body, headers = await fetch(session, room["hls_url"])
                    if status == 200 and segments(body):
                        assert headers["Cache-Control"] == "public, max-age=1"
                        assert b"#EXT-X-TARGETDURATION:1" in body
                        seen.append(segments(body))
                    await asyncio.sleep(0.3)
                # The tone's first second was playable within a few seconds of being sent.
                assert time.monotonic() - started < 6
                init = await fetch(session, f"{base}/init.mp4")
                last = await fetch(session, f"{base}/{seen[-1][-1]}")
                for status, _body, headers in (init, last):
                    assert status == 200
                    assert "immutable" in headers["Cache-Control"]
                with av.open(io.BytesIO(init[1] + last[1])) as container:
                    audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
                assert len(audio) >= 24000
                spectrum = np.abs(np.fft.rfft(audio[-24000:].astype(float)))
                assert abs(np.argmax(spectrum) * 48000 / 24000 - 880.0) < 5
                assert (await fetch(session, f"{base}/../../etc/passwd"))[0] == 404
                assert (await fetch(session, f"{base}/other.txt"))[0] == 404
        finally:
            await host.close()
        ended = await end_room(server.url, room["id"], token)
        assert ended["hls_url"] is None
        async with aiohttp.ClientSession() as session:
            assert (await fetch(session, room["hls_url"]))[0] == 404

    run(scenario())
