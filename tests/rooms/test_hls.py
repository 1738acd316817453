"""HLS: a live room's playlist advances, its segments decode to the room's audio."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import Mapping
from pathlib import Path

import aiohttp
import av
import numpy as np

from rooms.client import create_room, end_room, join_host
from rooms.hls import MISSING_CACHE, NAME_RE, PLAYLIST, SEGMENT_CACHE, HlsWriter, writer_of
from rooms.mixer import LISTENER_FRAME_MS, LISTENER_FRAME_SAMPLES, OpusEncoder
from tests.rooms.conftest import ServerThread, host_token, run


async def fetch(session: aiohttp.ClientSession, url: str) -> tuple[int, bytes, Mapping[str, str]]:
    async with session.get(url) as resp:
        return resp.status, await resp.read(), resp.headers.copy()


def segments(playlist: bytes) -> list[str]:
    return re.findall(r"^([0-9a-f]{8}-seg\d+\.m4s)$", playlist.decode(), flags=re.M)


def init_name(playlist: bytes) -> str:
    found = re.search(r'^#EXT-X-MAP:URI="([^"]+)"$', playlist.decode(), flags=re.M)
    assert found, playlist
    return found.group(1)


async def check_validators_and_misses(
    session: aiohttp.ClientSession, base: str, segment: str
) -> None:
    """A cache can revalidate what it holds, and keeps a miss only a moment."""
    status, _body, headers = await fetch(session, f"{base}/{segment}")
    assert status == 200 and headers["ETag"] and headers["Last-Modified"]
    async with session.get(f"{base}/{segment}", headers={"If-None-Match": headers["ETag"]}) as r:
        assert r.status == 304 and r.headers["Cache-Control"] == SEGMENT_CACHE
        assert r.headers["ETag"] == headers["ETag"]
    since = {"If-Modified-Since": headers["Last-Modified"]}
    async with session.get(f"{base}/{segment}", headers=since) as r:
        assert r.status == 304
    async with session.get(f"{base}/{segment}", headers={"If-None-Match": '"other"'}) as r:
        assert r.status == 200 and await r.read() == _body
    for name in (f"{segment[:8]}-seg999999.m4s", "00000000-init.mp4"):
        status, _body, headers = await fetch(session, f"{base}/{name}")
        assert status == 404 and headers["Cache-Control"] == MISSING_CACHE
        assert headers["Access-Control-Allow-Origin"] == "*"


def test_each_run_of_a_room_names_its_files_afresh(tmp_path: Path) -> None:
    # A room opened again under its id (or resumed after a restart) writes a new run:
    # a cache that kept the last run's files for good must never be served them again.
    encoder = OpusEncoder(frame_ms=LISTENER_FRAME_MS)
    silence = np.zeros(LISTENER_FRAME_SAMPLES, dtype=np.int16)
    packets = [
        bytes(p) for i in range(60) for p in encoder.encode(silence, i * LISTENER_FRAME_SAMPLES)
    ]
    folder = tmp_path / "hls" / "weekly"
    runs = []
    for _ in range(2):
        writer = HlsWriter(folder, encoder.extradata)
        assert writer.last_segment_at() is None and writer.last_segment_age_s() is None
        assert writer_of([object(), writer]) is writer
        before = time.time()
        for i, payload in enumerate(packets):
            writer.write(payload, i * LISTENER_FRAME_SAMPLES)
        playlist = (folder / PLAYLIST).read_bytes()
        at = writer.last_segment_at()
        assert at is not None and before - 1 <= at <= time.time()
        age = writer.last_segment_age_s(now=at + 2.5)
        assert age is not None and abs(age - 2.5) < 1e-6
        names = [init_name(playlist), *segments(playlist)]
        assert len(names) >= 2 and all(NAME_RE.match(n) for n in names)
        runs.append(set(names))
        writer.close()
        assert writer.last_segment_at() is None and not folder.exists()
    assert not runs[0] & runs[1]
    assert writer_of([object()]) is None


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
                init = await fetch(session, f"{base}/{init_name(body)}")
                last = await fetch(session, f"{base}/{seen[-1][-1]}")
                for status, _body, headers in (init, last):
                    assert status == 200
                    assert "immutable" in headers["Cache-Control"]
                    assert headers["Access-Control-Allow-Origin"] == "*"
                # Names carry the run: the init and segments of this run share a prefix.
                assert {init_name(body)[:8]} == {name[:8] for name in seen[-1]}
                await check_validators_and_misses(session, base, seen[-1][-1])
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
