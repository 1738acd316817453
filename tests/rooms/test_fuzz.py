"""Seeded random malformed messages: the handler always answers, never falls over."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp
import pytest

from rooms.client import create_room, ws_url
from rooms.protocol import REACTIONS, SCHEMAS, BadMessage, parse_message
from tests.rooms.conftest import ServerThread, host_token, run

SERVER_TYPES = {
    "hello",
    "joined",
    "answer",
    "state",
    "you",
    "reaction",
    "notice",
    "invite",
    "removed",
    "ended",
    "pong",
    "error",
}
FIELDS = ["role", "sdp", "peer_id", "muted", "emoji", "invite", "name", "start", "type", "x"]


def junk(rng: random.Random, depth: int = 0) -> Any:
    """Return a random JSON value, sometimes deep, long or odd."""
    choice = rng.randrange(9 if depth < 3 else 6)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False, 0, -1, 2**70, 1.5e308, float("nan")])
    if choice == 2:
        return "".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(0, 40)))
    if choice == 3:
        return rng.choice(
            [
                "v=0",
                "v=0\r\nm=audio 9 x\r\n",
                "listener",
                "host",
                "p1",
                "🎉",
                "x" * rng.randrange(3000, 70000),
                "\u0000",
                "💩" * 50,
            ]
        )
    if choice == 4:
        return rng.choice(list(REACTIONS) + ["listener", "speaker", "cohost", "king"])
    if choice == 5:
        return rng.randrange(-5, 5)
    if choice == 6:
        return [junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(FIELDS): junk(rng, depth + 1) for _ in range(rng.randrange(0, 4))}


def frame(rng: random.Random) -> str | bytes:
    """Return one random frame: mostly message-shaped, some garbage."""
    roll = rng.random()
    if roll < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 50)))
    if roll < 0.15:
        return rng.choice(["", "{", "[]", "null", '{"type":', "[" * 5000 + "]" * 5000])
    message: dict[str, Any] = {"type": rng.choice([*SCHEMAS, "dance", 7, None])}
    for _ in range(rng.randrange(0, 4)):
        message[rng.choice(FIELDS)] = junk(rng)
    return json.dumps(message)


def test_parse_message_only_accepts_or_refuses() -> None:
    rng = random.Random(1234)
    accepted = 0
    for _ in range(5000):
        data = frame(rng)
        if isinstance(data, bytes):
            continue
        try:
            message = parse_message(data)
        except BadMessage as exc:
            assert str(exc)
            continue
        accepted += 1
        assert message["type"] in SCHEMAS
        assert set(message) <= {"type", *SCHEMAS[message["type"]].fields}
    assert 0 < accepted < 2500  # the generator reaches both sides


@pytest.mark.parametrize("seed", [7, 8])
def test_server_survives_random_messages(server: ServerThread, seed: int) -> None:
    rng = random.Random(seed)
    room_id = run(create_room(server.url, host_token(), title="Fuzz"))["id"]

    async def session(frames: list[str | bytes]) -> list[dict]:
        replies: list[dict] = []
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(ws_url(server.url, room_id, None)) as ws,
        ):
            for data in frames:
                if ws.closed:
                    break
                if isinstance(data, bytes):
                    await ws.send_bytes(data)
                else:
                    await ws.send_str(data)
            await ws.send_str('{"type": "ping"}')
            while (msg := await ws.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT:
                replies.append(json.loads(msg.data))
                if replies[-1]["type"] == "pong":
                    break
        return replies

    codes: set[str] = set()
    for _ in range(12):
        replies = run(session([frame(rng) for _ in range(25)]))
        assert replies and replies[0]["type"] == "hello"
        for reply in replies:
            assert reply["type"] in SERVER_TYPES
            if reply["type"] == "error":
                assert reply["code"] != "server_error", reply
                assert reply["message"]
                codes.add(reply["code"])
    assert {"bad_message", "not_joined"} <= codes, codes
    # Still serving: a clean client joins and gets a pong.
    replies = run(session([json.dumps({"type": "join"})]))
    assert [r["type"] for r in replies if r["type"] != "state"][-2:] == ["joined", "pong"]
