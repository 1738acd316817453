"""The signaling WebSocket: malformed messages get error replies, roles need grants."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

from rooms.client import create_room, ws_url
from tests.rooms.conftest import ServerThread, host_token, listen_token, run

# Sent on the server's own schedule, not in reply to a message.
BACKGROUND = {"state", "notice", "levels"}


async def exchange(url: str, frames: list[Any], replies: int) -> tuple[list[dict], int | None]:
    """Send raw frames, then collect `replies` messages (or until the socket closes)."""
    out: list[dict] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        out.append(json.loads((await ws.receive(timeout=5)).data))
        for frame in frames:
            if isinstance(frame, bytes):
                await ws.send_bytes(frame)
            else:
                await ws.send_str(frame if isinstance(frame, str) else json.dumps(frame))
        while len(out) < replies + 1:
            msg = await ws.receive(timeout=5)
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            message = json.loads(msg.data)
            if message["type"] not in BACKGROUND:
                out.append(message)
        return out, ws.close_code


def new_room(server: ServerThread) -> str:
    return run(create_room(server.url, host_token(), title="Signals"))["id"]


@pytest.mark.parametrize(
    ("frame", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "JSON object"),
        ({"no": "type"}, "unknown message type"),
        ({"type": "dance"}, "unknown message type"),
        ({"type": "join", "role": 7}, "must be one of"),
        ({"type": "join", "role": "king"}, "'role' must be one of"),
        ({"type": "join", "extra": 1}, "unexpected field"),
        ({"type": "offer", "sdp": "hello"}, "complete SDP"),
        ({"type": "offer", "sdp": "v=0 " + "x" * 70_000}, "too large"),
        (b"\x00\x01", "not binary"),
    ],
)
def test_malformed_messages_get_an_error_reply(
    server: ServerThread, frame: Any, fragment: str
) -> None:
    url = ws_url(server.url, new_room(server), None)
    replies, _ = run(exchange(url, [frame, {"type": "ping"}], 2))
    hello, error, pong = replies
    assert hello["type"] == "hello"
    assert error["type"] == "error" and error["code"] == "bad_message"
    assert fragment in error["message"]
    assert pong == {"type": "pong"}  # the connection survives a bad message


def test_offer_before_join_is_an_error(server: ServerThread) -> None:
    url = ws_url(server.url, new_room(server), None)
    replies, _ = run(exchange(url, [{"type": "offer", "sdp": "v=0\r\n"}], 1))
    assert replies[1]["code"] == "not_joined"


def test_bad_sdp_offer_is_an_error(server: ServerThread) -> None:
    url = ws_url(server.url, new_room(server), None)
    frames = [{"type": "join"}, {"type": "offer", "sdp": "v=0\r\nnonsense\r\n"}, {"type": "ping"}]
    replies, _ = run(exchange(url, frames, 3))
    assert replies[1]["type"] == "joined"
    assert replies[2]["type"] == "error" and replies[2]["code"] == "bad_offer"
    assert replies[3] == {"type": "pong"}


def test_a_bad_offer_leaves_the_participant_in_the_room(server: ServerThread) -> None:
    # The connection made for the bad offer is closed; that must not remove them.
    url = ws_url(server.url, new_room(server), None)

    async def scenario() -> list[str]:
        seen: list[str] = []
        async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
            await ws.send_json({"type": "join"})
            await ws.send_json({"type": "offer", "sdp": "v=0\r\nnonsense\r\n"})
            await asyncio.sleep(1.0)
            await ws.send_json({"type": "ping"})
            while "pong" not in seen:
                msg = await ws.receive(timeout=5)
                if msg.type != aiohttp.WSMsgType.TEXT:
                    seen.append(f"closed {ws.close_code}")
                    break
                seen.append(json.loads(msg.data)["type"])
        return seen

    seen = run(scenario())
    assert "error" in seen and seen[-1] == "pong", seen


def test_anonymous_can_listen_but_not_host_or_speak(server: ServerThread) -> None:
    url = ws_url(server.url, new_room(server), None)
    frames = [{"type": "join", "role": "host"}, {"type": "join", "role": "speaker"}]
    replies, _ = run(exchange(url, frames, 2))
    assert [r["code"] for r in replies[1:]] == ["forbidden", "forbidden"]
    replies, _ = run(exchange(url, [{"type": "join"}], 1))
    assert replies[1]["type"] == "joined" and replies[1]["role"] == "listener"


def test_listen_token_cannot_escalate_and_other_host_cannot_take_over(server: ServerThread) -> None:
    room_id = new_room(server)
    replies, _ = run(
        exchange(ws_url(server.url, room_id, listen_token()), [{"type": "join", "role": "host"}], 1)
    )
    assert replies[1]["code"] == "forbidden"
    intruder = ws_url(server.url, room_id, host_token("mallory"))
    replies, _ = run(exchange(intruder, [{"type": "join", "role": "host"}], 1))
    assert replies[1]["code"] == "forbidden" and "own host" in replies[1]["message"]


def test_listener_cannot_end_the_room(server: ServerThread) -> None:
    room_id = new_room(server)
    replies, _ = run(
        exchange(ws_url(server.url, room_id, None), [{"type": "join"}, {"type": "end"}], 2)
    )
    assert replies[2]["code"] == "forbidden"


def test_bad_token_and_unknown_room_close_the_socket(server: ServerThread) -> None:
    replies, code = run(exchange(ws_url(server.url, new_room(server), "forged.token.x"), [], 1))
    assert replies[0]["code"] == "bad_token" and code == 4003
    replies, code = run(exchange(ws_url(server.url, "nosuchroom", None), [], 1))
    assert replies[0]["code"] == "not_found" and code == 4004


def test_token_for_another_room_is_refused(server: ServerThread) -> None:
    room_id = new_room(server)
    token = listen_token(room="other-room")
    replies, code = run(exchange(ws_url(server.url, room_id, token), [], 1))
    assert replies[0]["code"] == "bad_token" and "other-room" in replies[0]["message"]


def test_flood_of_bad_messages_closes_the_socket(server: ServerThread) -> None:
    url = ws_url(server.url, new_room(server), None)
    replies, code = run(exchange(url, ["x"] * 25, 30))
    assert code == 4008 and len(replies) == 21
