"""Open a demo room on a room server and play a gentle chime into it until stopped.

The demo room always has the same id (DEMO_ROOM_ID), so each start reopens the one
room, and the portal keeps one listing that comes back live, instead of a new room
(and a new listing) per restart.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from rooms.client import Host, RoomClientError, create_room, end_room, join_host
from rooms.config import data_dir_from_env
from rooms.sources import chime_sequence, write_wav
from rooms.tokens import issue_token

log = logging.getLogger(__name__)

DEMO_ROOM_ID = "demo"
DEMO_IDENTITY = "spaces-demo"

DEMO_ROOM = {
    "title": "Welcome to Spaces: a live demo room",
    "description": (
        "A demo space streaming a soft chime in a loop, so you can try the player: "
        "press Listen. Real spaces are opened by hosts from the portal."
    ),
    "topics": ["demo", "music"],
    "lang": "en",
}


def demo_audio(data_dir: Path) -> Path:
    """Return the demo chime WAV under `data_dir/rooms/`, generating it once."""
    path = data_dir / "rooms" / "demo-chime.wav"
    if not path.exists():
        write_wav(path, chime_sequence())
    return path


async def run_demo_host(
    rooms_url: str,
    secret: str,
    audio_path: Path | None = None,
    stop: asyncio.Event | None = None,
    *,
    data_dir: Path | None = None,
) -> None:
    """Open the demo room, host it with looping audio until `stop` is set, then end it.

    Without `audio_path` a chime is generated into `<data_dir>/rooms/` (by default
    the SPACES_DATA_DIR folder).
    Cancelling the task also ends the room cleanly.
    """
    stop = stop or asyncio.Event()
    path = audio_path or demo_audio(data_dir or data_dir_from_env())
    token = issue_token(secret, DEMO_IDENTITY, name="Spaces demo", grants=["host"], ttl=7 * 86400)
    room = await _open_room(rooms_url, token)
    log.info("demo room live at %s", room["share_url"])
    host: Host | None = None
    try:
        while not stop.is_set():
            host = await join_host(rooms_url, room["id"], token, audio_path=path)
            # Reconnect if the media link drops; leave when asked to stop.
            waiters = [asyncio.ensure_future(e.wait()) for e in (stop, host.closed, host.ended)]
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if host.ended.is_set():
                return
            if not stop.is_set():
                await host.close()
                host = None
                await asyncio.sleep(1.0)
    finally:
        await asyncio.shield(_finish(rooms_url, room["id"], token, host))


async def _open_room(rooms_url: str, token: str) -> dict[str, Any]:
    """Reopen the demo room under its usual id; a fresh id only if another host has it."""
    try:
        return await create_room(rooms_url, token, id=DEMO_ROOM_ID, **DEMO_ROOM)
    except RoomClientError as exc:
        if exc.code != "http_409":
            raise
        log.warning("demo room id %r taken (%s); opening a new one", DEMO_ROOM_ID, exc)
        return await create_room(rooms_url, token, **DEMO_ROOM)


async def _finish(rooms_url: str, room_id: str, token: str, host: Host | None) -> None:
    if host is not None:
        await host.close()
    try:
        await end_room(rooms_url, room_id, token)
    except Exception as exc:
        # The server may already be shutting down, which ends the room anyway.
        log.warning("could not end the demo room %s: %r", room_id, exc)
