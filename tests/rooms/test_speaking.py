"""Real aiortc peers: an approved listener is heard, a muted or demoted one is not."""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from rooms.client import RoomConnection, create_room, join_host, join_listener
from rooms.sources import LoopTrack, tone
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run

RATE = 48000
HOST_HZ, GUEST_HZ = 440.0, 1000.0


def level(samples: np.ndarray, hz: float) -> float:
    """Return the spectral magnitude at `hz`, relative to the loudest bin."""
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    bin_ = int(round(hz * len(samples) / RATE))
    return float(spectrum[bin_ - 2 : bin_ + 3].max() / max(spectrum.max(), 1e-9))


@contextmanager
def full_collections() -> Iterator[list[list[float]]]:
    """Yield the [start, end] times of the full garbage collections meanwhile.

    The room server and the test's peers share this process, whose heap holds every
    earlier test's objects too: a full collection here pauses them all at once, which
    says nothing of the room server's switching.
    """
    spans: list[list[float]] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                spans.append([time.monotonic(), float("inf")])
            elif spans:
                spans[-1][1] = time.monotonic()

    gc.callbacks.append(note)
    try:
        yield spans
    finally:
        gc.callbacks.remove(note)


def gaps_outside(times: list[float], spans: list[list[float]]) -> np.ndarray:
    """Return the gaps between `times` that no full collection overlapped."""
    pairs = zip(times, times[1:], strict=False)
    return np.array(
        [b - a for a, b in pairs if not any(s < b and a < e for s, e in spans)] or [0.0]
    )


async def fresh_audio(conn: RoomConnection, seconds: float) -> np.ndarray:
    """Return only audio received from now on, `seconds` of it."""
    conn.frames.clear()
    deadline = asyncio.get_running_loop().time() + seconds + 5
    while len(conn.audio()) < seconds * RATE:
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("audio stopped arriving")
        await asyncio.sleep(0.02)
    return conn.audio()[-int(seconds * RATE) :]


async def until(predicate: Any, timeout: float = 8.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.02)


async def approved_speaker(server: ServerThread) -> tuple[Any, ...]:
    """Host with a tone, a listener approved and talking with another tone, an audience."""
    token = host_token()
    room = await create_room(server.url, token, title="Stage")
    host = await join_host(server.url, room["id"], token, tone_hz=HOST_HZ)
    guest_token = issue_token(SECRET, "sam", name="Sam", grants=["listen"])
    guest = await join_listener(server.url, room["id"], token=guest_token)
    audience = await join_listener(server.url, room["id"])
    await guest.request_speak()
    await until(lambda: [r["peer_id"] for r in host.state.get("requests", [])] == [guest.peer_id])
    await host.approve(guest.peer_id)
    await until(lambda: guest.role == "speaker" and guest.muted)
    await guest.mute(False)  # approved speakers start muted and unmute when ready
    await until(lambda: not guest.muted)
    return host, guest, audience


def test_approved_listener_is_heard_and_keeps_hearing(server: ServerThread) -> None:
    async def scenario() -> None:
        host, guest, audience = await approved_speaker(server)
        try:
            before = await fresh_audio(guest, 0.5)
            assert level(before, HOST_HZ) > 0.5  # hearing the host as a listener
            count, switched_at = guest.frame_count, asyncio.get_running_loop().time()
            with full_collections() as paused:
                await guest.talk(LoopTrack(tone(GUEST_HZ, 1.0)))
                heard = await fresh_audio(audience, 1.0)
                assert level(heard, GUEST_HZ) > 0.3 and level(heard, HOST_HZ) > 0.3
                own = await fresh_audio(guest, 1.0)
            # The new speaker still hears the host, and never their own voice.
            assert level(own, HOST_HZ) > 0.5 and level(own, GUEST_HZ) < 0.05
            # No gap while switching from the listener stream to the speaker's one.
            times = [t for t in guest.frame_times if t >= switched_at - 0.2]
            assert guest.frame_count > count and gaps_outside(times, paused).max() < 0.3
        finally:
            for peer in (audience, guest, host):
                await peer.close()

    run(scenario())


def test_muting_and_moving_back_silence_a_speaker_within_a_second(server: ServerThread) -> None:
    async def scenario() -> None:
        host, guest, audience = await approved_speaker(server)
        try:
            await guest.talk(LoopTrack(tone(GUEST_HZ, 1.0)))
            assert level(await fresh_audio(audience, 0.5), GUEST_HZ) > 0.3

            await host.mute(True, guest.peer_id)
            await asyncio.sleep(1.0)
            assert level(await fresh_audio(audience, 0.5), GUEST_HZ) < 0.02
            await until(lambda: guest.muted)

            await guest.mute(False)  # a speaker may unmute themselves
            assert level(await fresh_audio(audience, 1.0), GUEST_HZ) > 0.3

            await host.set_role(guest.peer_id, "listener")
            await asyncio.sleep(1.0)
            after = await fresh_audio(audience, 0.5)
            assert level(after, GUEST_HZ) < 0.02 and level(after, HOST_HZ) > 0.5
            # Moved back, they still hear the room though their client keeps sending.
            assert level(await fresh_audio(guest, 0.5), HOST_HZ) > 0.5
        finally:
            for peer in (audience, guest, host):
                await peer.close()

    run(scenario())


def test_unapproved_audio_is_dropped(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Gatecrash")
        host = await join_host(server.url, room["id"], token, tone_hz=HOST_HZ)
        sneaky = await join_listener(server.url, room["id"])
        audience = await join_listener(server.url, room["id"])
        try:
            # A listener who adds a microphone without approval is answered but not heard.
            await sneaky.talk(LoopTrack(tone(GUEST_HZ, 1.0)))
            await asyncio.sleep(0.5)
            heard = await fresh_audio(audience, 1.0)
            assert level(heard, GUEST_HZ) < 0.02 and level(heard, HOST_HZ) > 0.5
        finally:
            for peer in (audience, sneaky, host):
                await peer.close()

    run(scenario())


def test_host_starts_muted_until_unmuting(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Quiet start")
        host = await join_host(server.url, room["id"], token, tone_hz=HOST_HZ, unmute=False)
        audience = await join_listener(server.url, room["id"])
        try:
            assert host.muted
            assert level(await fresh_audio(audience, 0.5), HOST_HZ) < 0.02
            await host.mute(False)
            assert level(await fresh_audio(audience, 0.5), HOST_HZ) > 0.5
        finally:
            await audience.close()
            await host.close()

    run(scenario())
