"""Resume tokens: someone whose connection dropped comes back as who they were."""

from __future__ import annotations

import asyncio
import time

import pytest

from rooms.client import RoomClientError, connect_control, create_room, join_host
from rooms.hub import HUB
from rooms.room import CLOSE_REPLACED
from rooms.sources import LoopTrack, tone
from rooms.tokens import Resume, issue_resume, issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, listen_token, run
from tests.rooms.test_speaking import GUEST_HZ, HOST_HZ, approved_speaker, fresh_audio, level, until


def test_a_speaker_who_reconnects_is_a_speaker_again_muted_then_heard(
    server: ServerThread,
) -> None:
    async def scenario() -> None:
        host, guest, audience = await approved_speaker(server)
        try:
            await guest.talk(LoopTrack(tone(GUEST_HZ, 1.0)))
            assert level(await fresh_audio(audience, 0.5), GUEST_HZ) > 0.3
            old_id, before = guest.peer_id, server.app[HUB].reconnects

            join_s = await guest.reconnect()  # new socket and peer connection, same tone
            assert guest.resumed and guest.role == "speaker" and guest.muted
            assert guest.peer_id != old_id and server.app[HUB].reconnects == before + 1
            # Back muted: the room does not hear them until they unmute.
            await asyncio.sleep(1.0)
            assert level(await fresh_audio(audience, 0.5), GUEST_HZ) < 0.02
            unmuted = time.monotonic()
            await guest.mute(False)
            await until(lambda: level(audience.audio()[-24000:], GUEST_HZ) > 0.3, 10)
            print(
                f"\nreconnect join→joined {join_s * 1000:.0f} ms; "
                f"unmute→heard {time.monotonic() - unmuted:.2f} s"
            )
            assert level(await fresh_audio(audience, 1.0), HOST_HZ) > 0.3  # the host too
            # The old connection was replaced quietly: one of them on stage, not two.
            await until(lambda: [s["name"] for s in audience.state["speakers"]] == ["Alice", "Sam"])
        finally:
            for peer in (audience, guest, host):
                await peer.close()

    run(scenario())


def test_a_cohost_stays_cohost_and_a_raised_hand_stays_raised(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Panel")
        host = await connect_control(server.url, room["id"], token, role="host")
        dana = await connect_control(
            server.url, room["id"], issue_token(SECRET, "dana", name="Dana")
        )
        ziv = await connect_control(server.url, room["id"], name="Ziv")  # a guest
        try:
            await dana.request_speak()
            await host.approve(dana.peer_id)
            await until(lambda: dana.role == "speaker")
            await host.set_role(dana.peer_id, "cohost")
            await until(lambda: dana.role == "cohost")
            await ziv.request_speak()
            await until(lambda: len(host.state.get("requests", [])) == 1)

            await dana.reconnect()
            assert dana.resumed and dana.role == "cohost" and dana.muted
            assert (await dana.invite())["invite"]  # moderates again
            old_ziv = ziv.peer_id
            await ziv.reconnect()
            # The guest is the same guest: same name, hand still raised, counted once.
            assert ziv.resumed and ziv.role == "listener" and ziv.peer_id != old_ziv
            await until(
                lambda: (
                    [(r["peer_id"], r["name"]) for r in host.state.get("requests", [])]
                    == [(ziv.peer_id, "Ziv")]
                )
            )
            assert host.state["listener_count"] == 1
        finally:
            for peer in (ziv, dana, host):
                await peer.close()

    run(scenario())


@pytest.mark.parametrize("kind", ["garbage", "expired", "other room", "someone else's"])
def test_a_bad_resume_token_gives_an_ordinary_join(server: ServerThread, kind: str) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Stage")
        host = await connect_control(server.url, room["id"], token, role="host")
        sam = issue_token(SECRET, "sam", name="Sam")
        speaker = await connect_control(server.url, room["id"], sam)
        try:
            await speaker.request_speak()
            await host.approve(speaker.peer_id)
            resume = {
                "garbage": "not-a-token",
                "expired": issue_resume(SECRET, Resume(room["id"], "sam", "Sam"), ttl=-60),
                "other room": issue_resume(SECRET, Resume("elsewhere", "sam", "Sam")),
                "someone else's": speaker.resume_token,
            }[kind]
            # Someone else's token with a different access token is not theirs to use.
            access = listen_token("mallory") if kind == "someone else's" else None
            other = await connect_control(server.url, room["id"], access, resume=resume)
            assert not other.resumed and other.role == "listener" and not other.muted
            assert other.resume_token and other.resume_token != resume
            await asyncio.sleep(0.6)
            assert speaker.role == "speaker" and not speaker.closed.is_set()
            await other.close()
        finally:
            await speaker.close()
            await host.close()

    run(scenario())


def test_a_removed_person_stays_out(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Strict")
        host = await connect_control(server.url, room["id"], token, role="host")
        eve = await connect_control(server.url, room["id"], listen_token("eve"))
        guest = await connect_control(server.url, room["id"], name="Troll")
        try:
            for who in (eve, guest):
                await host.remove(who.peer_id)
                await asyncio.wait_for(who.closed.wait(), 5)
                with pytest.raises(RoomClientError) as refused:
                    await who.reconnect()
                assert refused.value.code == "removed"
        finally:
            for peer in (guest, eve, host):
                await peer.close()

    run(scenario())


def test_the_old_connection_is_closed_as_replaced(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Two tabs")
        host = await join_host(server.url, room["id"], token, unmute=False)
        first = await connect_control(server.url, room["id"], listen_token("bob"))
        try:
            second = await connect_control(
                server.url, room["id"], listen_token("bob"), resume=first.resume_token
            )
            await asyncio.wait_for(first.closed.wait(), 5)
            assert first.ws is not None and first.ws.close_code == CLOSE_REPLACED
            assert second.resumed
            await until(lambda: host.state.get("listener_count") == 1)
            await second.close()
        finally:
            await first.close()
            await host.close()

    run(scenario())
