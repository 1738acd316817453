"""Over real WebRTC: every listener hears every talker; no talker hears itself."""

from __future__ import annotations

import asyncio

import numpy as np

from rooms.client import create_room, join_host, join_listener
from rooms.fanout import Fanout
from rooms.hub import HUB
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run

TONES = {"alice": 440.0, "sam": 1000.0, "kim": 1600.0}


def level(samples: np.ndarray, hz: float, rate: int = 48000) -> float:
    """Return the amplitude of `hz` in `samples` (one-second window)."""
    window = samples[-rate:].astype(float)
    ref = np.exp(-2j * np.pi * hz * np.arange(len(window)) / rate)
    return float(2 * abs(np.dot(window, ref)) / len(window))


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


def test_three_talkers_mix_minus_and_listeners_hear_all(server: ServerThread) -> None:
    async def scenario() -> Fanout:
        token = host_token()
        room = await create_room(server.url, token, title="Trio")
        talkers = {"alice": await join_host(server.url, room["id"], token, tone_hz=440.0)}
        for name in ("sam", "kim"):
            grant = issue_token(SECRET, name, name=name, grants=["speak"], room=room["id"])
            talkers[name] = await join_host(
                server.url, room["id"], grant, tone_hz=TONES[name], role="speaker"
            )
        listeners = [await join_listener(server.url, room["id"]) for _ in range(3)]
        try:
            peers = [*talkers.values(), *listeners]
            await wait_for(lambda: all(len(p.audio()) >= 48000 * 1.5 for p in peers), 15)
            for listener in listeners:
                levels = {name: level(listener.audio(), hz) for name, hz in TONES.items()}
                assert min(levels.values()) > 2000, levels
            for name, talker in talkers.items():
                audio = talker.audio()
                own = level(audio, TONES[name])
                others = [level(audio, hz) for other, hz in TONES.items() if other != name]
                assert min(others) > 2000, (name, others)
                assert own < 0.02 * min(others), (name, own, others)
        finally:
            for peer in (*listeners, *talkers.values()):
                await peer.close()
        return room["id"]

    run(scenario())


def test_listeners_are_sent_by_the_fanout(server: ServerThread) -> None:
    """The fast path is really used: listener packets leave through the Fanout."""

    async def scenario() -> str:
        token = host_token()
        room = await create_room(server.url, token, title="Fast path")
        host = await join_host(server.url, room["id"], token)
        listener = await join_listener(server.url, room["id"])
        try:
            await wait_for(lambda: len(listener.audio()) >= 48000)
            assert level(listener.audio(), 440.0) > 2000
        finally:
            await listener.close()
            await host.close()
        return room["id"]

    room_id = run(scenario())

    async def sent() -> int:
        room = server.app[HUB].live[room_id]
        return room.mixer.fanout.sent

    assert server.call(sent()) >= 20  # ≥ 0.8 s of 40 ms packets went the fast way
