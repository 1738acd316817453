"""Room controls over the WebSocket, without media: roles, limits, removal, reactions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from rooms.client import RoomClientError, RoomConnection, connect_control, create_room
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run


def person(identity: str, grants: tuple[str, ...] = ("listen",), **kwargs: Any) -> str:
    return issue_token(SECRET, identity, name=identity.title(), grants=grants, **kwargs)


async def until(predicate: Any, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.02)


async def stage(server: ServerThread, *listeners: str, **room: Any) -> tuple[Any, ...]:
    """Create a live room, join its host and the named listeners (control only)."""
    token = host_token()
    created = await create_room(server.url, token, title=room.pop("title", "Controls"), **room)
    host = await connect_control(server.url, created["id"], token, role="host")
    people = [await connect_control(server.url, created["id"], person(n)) for n in listeners]
    return created["id"], host, *people


async def close_all(*conns: RoomConnection) -> None:
    for conn in conns:
        await conn.close()


def requests_of(host: RoomConnection) -> list[str]:
    return [r["peer_id"] for r in host.state.get("requests", [])]


def test_host_starts_muted_and_unmutes_itself(server: ServerThread) -> None:
    async def scenario() -> None:
        _, host = await stage(server)
        try:
            assert host.muted is True and host.role == "host"
            await host.mute(False)
            await until(lambda: host.you.get("muted") is False)
            await until(lambda: bool(host.state) and host.state["speakers"][0]["muted"] is False)
        finally:
            await close_all(host)

    run(scenario())


def test_request_approve_and_decline(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, sam, tia = await stage(server, "sam", "tia")
        try:
            await sam.request_speak()
            await tia.request_speak()
            await until(lambda: set(requests_of(host)) == {sam.peer_id, tia.peer_id})
            # Listeners never see the guests panel.
            assert "requests" not in sam.state and "listeners" not in sam.state
            await host.approve(sam.peer_id)
            # On stage, muted until Sam unmutes: nobody is put on air by another's click.
            await until(lambda: sam.role == "speaker" and sam.you["muted"] is True)
            await host.decline(tia.peer_id)
            notice = await tia.wait_message("notice", code="declined")
            assert "declined" in notice["message"] and tia.role == "listener"
            await until(lambda: requests_of(host) == [])
            roles = {s["peer_id"]: s["role"] for s in host.state["speakers"]}
            assert roles == {host.peer_id: "host", sam.peer_id: "speaker"}
            with pytest.raises(RoomClientError, match="no_request"):
                await host.approve(tia.peer_id)
        finally:
            await close_all(sam, tia, host)

    run(scenario())


def test_listeners_cannot_moderate(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, sam, tia = await stage(server, "sam", "tia")
        try:
            await tia.request_speak()
            for call, code in [
                (sam.mute(True, host.peer_id), "forbidden"),
                (sam.approve(tia.peer_id), "forbidden"),
                (sam.decline(tia.peer_id), "forbidden"),
                (sam.set_role(tia.peer_id, "speaker"), "forbidden"),
                (sam.remove(tia.peer_id), "forbidden"),
                (sam.call({"type": "end"}), "forbidden"),
                (sam.call({"type": "start"}), "forbidden"),
                (sam.invite(), "forbidden"),
                (sam.mute(False), "not_speaker"),
                (host.approve("p999999"), "no_such_peer"),
            ]:
                with pytest.raises(RoomClientError, match=code):
                    await call
            assert host.muted and sam.role == "listener" and not sam.ended.is_set()
        finally:
            await close_all(sam, tia, host)

    run(scenario())


def test_cohosts_moderate_but_not_the_host(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, a, b, c, d = await stage(server, "ann", "ben", "cat", "dan")
        try:
            for p in (a, b, c, d):
                await p.request_speak()
            await until(lambda: len(requests_of(host)) == 4)
            for p in (a, b, c):
                await host.approve(p.peer_id)
            with pytest.raises(RoomClientError, match="not_speaker"):
                await host.set_role(d.peer_id, "cohost")
            await host.set_role(a.peer_id, "cohost")
            await host.set_role(b.peer_id, "cohost")
            with pytest.raises(RoomClientError, match="at most 2 co-hosts"):
                await host.set_role(c.peer_id, "cohost")
            await until(lambda: a.role == "cohost" and "requests" in a.state)
            # A co-host approves, mutes and demotes speakers ...
            await a.approve(d.peer_id)
            await a.mute(True, d.peer_id)
            await until(lambda: d.muted)
            with pytest.raises(RoomClientError, match="forbidden"):
                await d.mute(False, c.peer_id)  # nobody unmutes someone else
            await a.set_role(c.peer_id, "listener")
            await until(lambda: c.role == "listener")
            # ... but cannot touch the host or another co-host, nor end the space.
            for call in (
                a.mute(True, host.peer_id),
                a.remove(host.peer_id),
                a.set_role(b.peer_id, "listener"),
                a.call({"type": "end"}),
            ):
                with pytest.raises(RoomClientError, match="forbidden"):
                    await call
            # A speaker may step down on their own.
            await d.set_role(d.peer_id, "listener")
            await until(lambda: d.role == "listener")
        finally:
            await close_all(a, b, c, d, host)

    run(scenario())


def test_talker_limit_is_enforced_with_a_clear_message(start_server: Any) -> None:
    server = start_server(max_talkers=3)

    async def scenario() -> None:
        room_id, host, a, b, c = await stage(server, "ann", "ben", "cat")
        try:
            for p in (a, b, c):
                await p.request_speak()
            await until(lambda: len(requests_of(host)) == 3)
            await host.approve(a.peer_id)
            await host.approve(b.peer_id)
            with pytest.raises(RoomClientError, match="full: this space already has 3 people"):
                await host.approve(c.peer_id)
            assert c.role == "listener"
            speaker = person("sid", ("speak",))
            with pytest.raises(RoomClientError, match="full"):
                await connect_control(server.url, room_id, speaker, role="speaker")
            # Moving someone back to listener frees a place.
            await host.set_role(b.peer_id, "listener")
            await host.approve(c.peer_id)
            await until(lambda: c.role == "speaker")
        finally:
            await close_all(a, b, c, host)

    run(scenario())


def test_default_limit_is_eleven_talkers(server: ServerThread) -> None:
    async def scenario() -> None:
        names = [f"guest{i}" for i in range(11)]
        room_id, host, *people = await stage(server, *names)
        try:
            for p in people:
                await p.request_speak()
            await until(lambda: len(requests_of(host)) == 11)
            for p in people[:10]:
                await host.approve(p.peer_id)
            with pytest.raises(RoomClientError, match="already has 11 people who can talk"):
                await host.approve(people[10].peer_id)
            await until(lambda: len(host.state["speakers"]) == 11)
        finally:
            await close_all(*people, host)

    run(scenario())


def test_removed_people_cannot_rejoin(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, bob = await stage(server, "bob")
        try:
            await host.remove(bob.peer_id)
            removed = await bob.wait_message("removed")
            assert "removed" in removed["message"]
            await asyncio.wait_for(bob.closed.wait(), 5)
            assert bob.ws is not None and bob.ws.close_code == 4001
            for token in (person("bob"), None):  # same identity, or no token at all
                with pytest.raises(RoomClientError, match="removed"):
                    await connect_control(server.url, room_id, token)
            # A different identity is still welcome.
            other = await connect_control(server.url, room_id, person("eve"))
            await other.close()
        finally:
            await close_all(bob, host)

    run(scenario())


def test_reactions_reach_everyone_and_are_rate_limited(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, sam, tia = await stage(server, "sam", "tia")
        try:
            await sam.react("🎉")
            for conn in (host, sam, tia):
                got = await conn.wait_message("reaction", emoji="🎉")
                assert got["peer_id"] == sam.peer_id and got["name"] == "Sam"
            for _ in range(4):
                await sam.react("👏")
            with pytest.raises(RoomClientError, match="rate_limited: too many reactions"):
                await sam.react("🔥")
            with pytest.raises(RoomClientError, match="bad_message"):
                await tia.react("💩")  # not in the fixed set
            await tia.react("❤️")  # others are not limited by Sam's haste
            await host.wait_message("reaction", emoji="❤️")
        finally:
            await close_all(sam, tia, host)

    run(scenario())


def test_invite_gives_priority_and_forged_invites_are_refused(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, sam, tia = await stage(server, "sam", "tia")
        try:
            invite = await host.invite()
            assert invite["url"].endswith(f"/s/{room_id}?invite={invite['invite']}")
            await sam.request_speak()
            await until(lambda: requests_of(host) == [sam.peer_id])
            with pytest.raises(RoomClientError, match="bad_invite"):
                await tia.request_speak(invite="not.an.invite")
            from rooms.tokens import issue_invite

            other_room = issue_invite(SECRET, "another-room", by="alice")
            with pytest.raises(RoomClientError, match="another space"):
                await tia.request_speak(invite=other_room)
            await tia.request_speak(invite=invite["invite"])
            # The invited guest asked later but comes first, marked as invited.
            await until(lambda: requests_of(host) == [tia.peer_id, sam.peer_id])
            assert host.state["requests"][0]["invited"] is True
        finally:
            await close_all(sam, tia, host)

    run(scenario())


def test_approved_speaker_keeps_the_role_after_reconnecting(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host, sam = await stage(server, "sam")
        try:
            await sam.request_speak()
            await until(lambda: requests_of(host) == [sam.peer_id])
            await host.approve(sam.peer_id)
            await sam.close()
            again = await connect_control(server.url, room_id, person("sam"), role="speaker")
            assert again.role == "speaker"
            await again.close()
            # Without approval (or a speak grant) nobody joins as speaker.
            with pytest.raises(RoomClientError, match="forbidden"):
                await connect_control(server.url, room_id, person("tia"), role="speaker")
        finally:
            await close_all(sam, host)

    run(scenario())


def test_expired_token_is_refused(server: ServerThread) -> None:
    async def scenario() -> None:
        room_id, host = await stage(server)
        try:
            import jwt

            claims = {
                "sub": "old",
                "grants": ["listen"],
                "room": "*",
                "aud": "spaces-rooms",
                "iat": 1_000_000,
                "exp": 1_000_060,
            }
            expired = jwt.encode(claims, SECRET, algorithm="HS256")
            with pytest.raises(RoomClientError, match="bad_token: the access token has expired"):
                await connect_control(server.url, room_id, expired)
        finally:
            await host.close()

    run(scenario())
