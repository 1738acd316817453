"""Who people are: names, handles and profiles from tokens; the audience for everyone."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from rooms.client import RoomClientError, connect_control, create_room, end_room
from rooms.room import AUDIENCE_SHOWN
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run

PROFILE = "https://portal.example/hosts/"


async def until(check, timeout_s: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.02)


async def status(server: ServerThread, room_id: str) -> dict:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{server.url}/api/rooms/{room_id}") as resp,
    ):
        return json.loads(await resp.text())


def person_token(sub: str, name: str, handle: str, grants: tuple[str, ...] = ("listen",)) -> str:
    return issue_token(
        SECRET, sub, name=name, grants=grants, handle=handle, profile=PROFILE + handle
    )


def test_everyone_appears_under_their_token_name_handle_and_profile(server: ServerThread) -> None:
    async def scenario() -> None:
        token = person_token("user:1", "Alice", "alice_h", ("host",))
        room = await create_room(server.url, token, title="Who is here")
        assert room["host"] == {
            "name": "Alice",
            "handle": "alice_h",
            "profile": PROFILE + "alice_h",
        }
        host = await connect_control(server.url, room["id"], token, role="host")
        bea = await connect_control(server.url, room["id"], person_token("user:2", "Bea", "bea"))
        guest = await connect_control(server.url, room["id"], name="Cy")
        try:
            await until(lambda: len(guest.state.get("audience", [])) == 2)
            assert guest.state["audience"] == [
                {
                    "peer_id": bea.peer_id,
                    "name": "Bea",
                    "handle": "bea",
                    "profile": PROFILE + "bea",
                },
                {"peer_id": guest.peer_id, "name": "Cy", "handle": "", "profile": ""},
            ]
            assert guest.state["listener_count"] == 2
            (stage,) = guest.state["speakers"]
            assert (stage["peer_id"], stage["name"], stage["handle"], stage["profile"]) == (
                host.peer_id,
                "Alice",
                "alice_h",
                PROFILE + "alice_h",
            )
            assert "listeners" not in guest.state  # the guests panel stays the host's
            await until(lambda: len(host.state.get("listeners", [])) == 2)
            assert {p["handle"] for p in host.state["listeners"]} == {"bea", ""}
            await bea.call({"type": "request_speak"})
            await until(lambda: bool(host.state.get("requests")))
            assert host.state["requests"][0]["profile"] == PROFILE + "bea"
            # A reaction from the audience reaches everyone, named by its peer id.
            await bea.react("🔥")
            await guest.wait_message("reaction", peer_id=bea.peer_id, emoji="🔥")
            now = await status(server, room["id"])
            assert now["speakers"] == [
                {
                    "name": "Alice",
                    "handle": "alice_h",
                    "profile": PROFILE + "alice_h",
                    "role": "host",
                }
            ]
            assert now["speaker_count"] == 1
        finally:
            for conn in (guest, bea, host):
                await conn.close()

    run(scenario())


def test_audience_names_the_first_listeners_and_counts_them_all(server: ServerThread) -> None:
    extra = 6

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Full house")
        host = await connect_control(server.url, room["id"], token, role="host")
        people = []
        try:
            for n in range(AUDIENCE_SHOWN + extra):
                people.append(await connect_control(server.url, room["id"], name=f"P{n}"))
            total = AUDIENCE_SHOWN + extra
            await until(lambda: host.state.get("listener_count") == total)
            await until(lambda: people[0].state.get("listener_count") == total)
            names = [p["name"] for p in people[0].state["audience"]]
            assert names == [f"P{n}" for n in range(AUDIENCE_SHOWN)]  # oldest first
            await people[0].close()
            await until(lambda: people[1].state.get("listener_count") == total - 1)
            assert people[1].state["audience"][-1]["name"] == f"P{AUDIENCE_SHOWN}"
        finally:
            for conn in (*people, host):
                await conn.close()

    run(scenario())


def test_a_host_whose_handle_changed_still_hosts_their_rooms(server: ServerThread) -> None:
    async def scenario() -> None:
        before = person_token("user:1", "Alice", "old_name", ("host",))
        room = await create_room(server.url, before, title="Renamed")
        after = person_token("user:1", "Alice B.", "new_name", ("host",))
        host = await connect_control(server.url, room["id"], after, role="host")
        try:
            assert host.role == "host"
            shown = (await status(server, room["id"]))["host"]
            assert shown == {
                "name": "Alice B.",
                "handle": "new_name",
                "profile": PROFILE + "new_name",
            }
            # The handle is shown, never trusted: another identity claiming it is no host.
            impostor = person_token("user:9", "Mallory", "new_name", ("host",))
            with pytest.raises(RoomClientError) as refused:
                await connect_control(server.url, room["id"], impostor, role="host")
            assert refused.value.code == "forbidden"
        finally:
            await host.close()
        ended = await end_room(server.url, room["id"], after)
        assert ended["state"] == "ended"

    run(scenario())


def test_token_without_handle_shows_the_identity_as_before(server: ServerThread) -> None:
    async def scenario() -> None:
        room = await create_room(server.url, host_token(), title="Plain")
        assert room["host"] == {"name": "Alice", "handle": "alice", "profile": ""}
        plain = issue_token(SECRET, "bob", name="Bob", grants=["listen"])
        bob = await connect_control(server.url, room["id"], plain)
        try:
            await until(lambda: bool(bob.state.get("audience")))
            assert bob.state["audience"][0] == {
                "peer_id": bob.peer_id,
                "name": "Bob",
                "handle": "bob",
                "profile": "",
            }
        finally:
            await bob.close()

    run(scenario())
