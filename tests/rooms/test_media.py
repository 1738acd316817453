"""Real aiortc peers over loopback: the listener hears the host, the host hears nobody."""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest

from rooms.client import RoomClientError, create_room, end_room, join_host, join_listener
from tests.rooms.conftest import ServerThread, host_token, run


def dominant_hz(samples: np.ndarray, rate: int = 48000) -> float:
    window = samples[-rate:].astype(float) * np.hanning(min(len(samples), rate))
    spectrum = np.abs(np.fft.rfft(window))
    return float(np.argmax(spectrum) * rate / len(window))


async def wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not reached in time")
        await asyncio.sleep(0.05)


def test_listener_hears_the_hosts_tone_and_host_hears_nothing(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Tone")
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        listener = await join_listener(server.url, room["id"])
        try:
            await wait_for(lambda: len(listener.audio()) >= 48000 * 1.5)
            assert abs(dominant_hz(listener.audio()) - 440.0) < 5
            rms = np.sqrt(np.mean(listener.audio()[-48000:].astype(float) ** 2))
            assert rms > 1000  # the tone, not near-silence
            # The host's own voice never comes back to the host.
            assert host.frame_count == 0
            await wait_for(lambda: listener.state.get("listener_count") == 1)
            assert listener.state["speakers"][0]["handle"] == "alice"
        finally:
            await listener.close()
            await host.close()

    run(scenario())


def test_two_talkers_hear_each_other_but_not_themselves(server: ServerThread) -> None:
    from rooms.tokens import issue_token
    from tests.rooms.conftest import SECRET

    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Duet")
        speaker_token = issue_token(SECRET, "sam", name="Sam", grants=["speak"], room=room["id"])
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        speaker = await join_host(
            server.url, room["id"], speaker_token, tone_hz=1000.0, role="speaker"
        )
        listener = await join_listener(server.url, room["id"])
        try:
            await wait_for(lambda: len(host.audio()) >= 48000 and len(speaker.audio()) >= 48000)
            assert abs(dominant_hz(host.audio()) - 1000.0) < 5
            assert abs(dominant_hz(speaker.audio()) - 440.0) < 5
            await wait_for(lambda: len(listener.audio()) >= 48000)
            spectrum = np.abs(np.fft.rfft(listener.audio()[-48000:].astype(float)))
            assert spectrum[440] > 0.2 * spectrum.max() and spectrum[1000] > 0.2 * spectrum.max()
        finally:
            for peer in (listener, speaker, host):
                await peer.close()

    run(scenario())


def test_ending_disconnects_listeners_and_forbids_rejoin(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Short")
        host = await join_host(server.url, room["id"], token)
        listeners = [await join_listener(server.url, room["id"]) for _ in range(2)]
        try:
            await wait_for(lambda: all(len(x.audio()) > 4800 for x in listeners))
            await host.end()
            for listener in listeners:
                await asyncio.wait_for(listener.ended.wait(), 5)
                await asyncio.wait_for(listener.closed.wait(), 5)
                await wait_for(
                    lambda x=listener: (
                        x.pc.connectionState == "closed"
                        or x.pc.iceConnectionState in ("closed", "failed", "disconnected")
                    )
                )
            with pytest.raises(RoomClientError, match="ended"):
                await join_listener(server.url, room["id"])
            with pytest.raises(RoomClientError, match="ended"):
                await join_host(server.url, room["id"], token)
        finally:
            for peer in (*listeners, host):
                await peer.close()

    run(scenario())
    assert server.call(_live_rooms(server)) == 0


async def _live_rooms(server: ServerThread) -> int:
    from rooms.hub import HUB

    return len(server.app[HUB].live)


def test_end_over_http_also_ends_peers(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="HTTP end")
        listener = await join_listener(server.url, room["id"])
        try:
            status = await end_room(server.url, room["id"], token)
            assert status["state"] == "ended"
            await asyncio.wait_for(listener.ended.wait(), 5)
        finally:
            await listener.close()

    run(scenario())


def test_scheduled_room_goes_live_when_its_host_joins(server: ServerThread) -> None:
    async def scenario() -> dict:
        token = host_token()
        room = await create_room(
            server.url, token, title="Later", scheduled_start="2099-01-01T00:00:00Z"
        )
        assert room["state"] == "scheduled"
        with pytest.raises(RoomClientError, match="not_live"):
            await join_listener(server.url, room["id"])
        host = await join_host(server.url, room["id"], token)
        listener = await join_listener(server.url, room["id"])
        try:
            assert listener.room["state"] == "live" and listener.room["started_at"]
        finally:
            await listener.close()
            await host.close()
        return room

    room = run(scenario())
    for _ in range(50):  # going live is announced to the portal, in the background
        if server.pings:
            break
        time.sleep(0.05)
    assert server.pings[:1] == [{"url": room["share_url"]}]


def test_server_peers_gather_with_the_configured_ice_servers_only() -> None:
    from rooms.config import IceSettings
    from rooms.media import PeerMedia
    from rooms.mixer import Mixer

    async def scenario() -> None:
        mixer = Mixer()
        default = PeerMedia(mixer, "a")
        ice = IceSettings(
            stun=("stun:127.0.0.1:3478",),
            turn=("turn:127.0.0.1:3478?transport=udp",),
            turn_username="rooms",
            turn_password="pw",
        )
        configured = PeerMedia(mixer, "b", ice)
        try:
            # No public STUN server unless configured: a join must not wait on one.
            assert default.pc._RTCPeerConnection__configuration.iceServers == []
            servers = configured.pc._RTCPeerConnection__configuration.iceServers
            assert [(s.urls, s.username, s.credential) for s in servers] == [
                (["stun:127.0.0.1:3478"], None, None),
                (["turn:127.0.0.1:3478?transport=udp"], "rooms", "pw"),
            ]
        finally:
            await default.close()
            await configured.close()
            await mixer.close()

    run(scenario())


def test_listeners_get_sender_reports_from_the_fanout(server: ServerThread) -> None:
    async def scenario() -> None:
        token = host_token()
        room = await create_room(server.url, token, title="Reports")
        host = await join_host(server.url, room["id"], token, tone_hz=440.0)
        listener = await join_listener(server.url, room["id"])
        try:
            receiver = listener.pc.getTransceivers()[0].receiver
            # aiortc notes the middle 32 bits of each SR's NTP time per sender SSRC.
            await wait_for(lambda: bool(receiver._RTCRtpReceiver__lsr), timeout=5)
            await wait_for(lambda: len(listener.audio()) >= 48000 * 1.5)
            assert abs(dominant_hz(listener.audio()) - 440.0) < 5
        finally:
            await listener.close()
            await host.close()
            await end_room(server.url, room["id"], token)

    run(scenario())
