"""A room behind TURN: coturn on loopback, peers that may only use its relays."""

from __future__ import annotations

import html
import json
import re
import time
from typing import Any

import aiohttp
import numpy as np
import pytest
from aioice import Connection, TransportPolicy

from rooms.client import create_room, join_host
from rooms.config import IceSettings
from rooms.ice import turn_credentials
from rooms.tokens import issue_token
from tests.rooms.conftest import SECRET, ServerThread, host_token, run
from tests.rooms.coturn import (
    TURN_SECRET,
    TURNSERVER,
    Coturn,
    coturn,
    join_with,
    relay_only,
    relayed_bytes,
    selected_pair,
)
from tests.rooms.test_media import dominant_hz, wait_for

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(TURNSERVER is None, reason="coturn (turnserver) is not installed"),
]

__all__ = ["coturn"]


async def page_ice_servers(rooms_url: str, room_id: str) -> list[dict[str, Any]]:
    """Return the ICE servers the player page hands to the browser (fresh credentials)."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{rooms_url}/s/{room_id}/embed") as resp,
    ):
        page = await resp.text()
    found = re.search(r'data-ice-servers="([^"]*)"', page)
    assert found, "the player page carries no ICE servers"
    servers: list[dict[str, Any]] = json.loads(html.unescape(found[1]))
    return servers


def test_relay_only_speaker_is_heard_by_a_relay_only_listener(
    start_server: Any, coturn: Coturn
) -> None:
    ice = IceSettings(turn=(coturn.url,), turn_secret=TURN_SECRET, turn_ttl_s=600)
    server: ServerThread = start_server(ice=ice)

    async def scenario() -> tuple[str, str]:
        token = host_token()
        room = await create_room(server.url, token, title="Through the relay")
        host = await join_host(server.url, room["id"], token, unmute=False)
        speak = issue_token(SECRET, "sam", name="Sam", grants=["speak"], room=room["id"])
        # Each peer gets what a player page view gets: its own TURN REST credentials.
        speaker_servers = await page_ice_servers(server.url, room["id"])
        listener_servers = await page_ice_servers(server.url, room["id"])
        started = time.monotonic()
        speaker = await join_with(
            server.url,
            room["id"],
            relay_only(speaker_servers),
            token=speak,
            role="speaker",
            tone_hz=1000.0,
        )
        listener = await join_with(server.url, room["id"], relay_only(listener_servers))
        try:
            await wait_for(lambda: len(listener.audio()) >= 48000 * 1.5, timeout=15)
            print(f"relayed audio heard {time.monotonic() - started:.2f} s after joining")
            assert abs(dominant_hz(listener.audio()) - 1000.0) < 5
            rms = np.sqrt(np.mean(listener.audio()[-48000:].astype(float) ** 2))
            assert rms > 1000  # the tone, not near-silence
            for peer in (speaker, listener):
                pair = selected_pair(peer.pc)
                assert pair is not None and pair.local_candidate.type == "relay"
                assert coturn.min_port <= pair.local_candidate.port <= coturn.max_port
        finally:
            for peer in (listener, speaker, host):
                await peer.close()
        return speaker_servers[-1]["username"], listener_servers[-1]["username"]

    speaker_name, listener_name = run(scenario())
    # The media really crossed the relay: the speaker's allocation sent the voice on to
    # the room server, the listener's received the room's audio from it (>= 1 s of Opus).
    _, speaker_sent = relayed_bytes(coturn, speaker_name)
    listener_received, _ = relayed_bytes(coturn, listener_name)
    print(f"relayed: speaker sent {speaker_sent} B, listener received {listener_received} B")
    assert speaker_sent > 8000 and listener_received > 8000


@pytest.mark.parametrize(
    ("secret", "age_s", "relayed"),
    [(TURN_SECRET, 0, True), ("another-secret", 0, False), (TURN_SECRET, 601, False)],
    ids=["valid", "other-secret", "expired"],
)
def test_the_turn_server_takes_only_live_credentials_signed_with_its_secret(
    coturn: Coturn, secret: str, age_s: float, relayed: bool
) -> None:
    username, password = turn_credentials(secret, "bob", 600, now=time.time() - age_s)

    async def gather() -> list[str]:
        connection = Connection(
            ice_controlling=True,
            turn_server=("127.0.0.1", coturn.port),
            turn_username=username,
            turn_password=password,
            transport_policy=TransportPolicy.RELAY,
        )
        await connection.gather_candidates()
        types = [candidate.type for candidate in connection.local_candidates]
        await connection.close()
        return types

    assert run(gather()) == (["relay"] if relayed else [])
