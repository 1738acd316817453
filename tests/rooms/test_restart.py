"""Rooms never stay live across a restart: they are ended, and stay visible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rooms.client import create_room
from rooms.config import RoomsConfig
from rooms.hub import RoomHub
from rooms.store import LIVE, RoomStore
from tests.rooms.conftest import SECRET, host_token, run


def test_rooms_live_at_a_crash_are_ended_on_start(rooms_data: Path) -> None:
    store = RoomStore(rooms_data / "rooms")
    record = store.create(title="Crashed", description="", host_identity="alice", host_name="A")
    record.start()
    store.save()
    hub = RoomHub(RoomsConfig(data_dir=rooms_data, secret=SECRET))
    status = hub.status(hub.store.get(record.id))
    assert status["state"] == "ended" and status["ended_at"]
    # The file says so too, so a second restart agrees.
    assert RoomStore(rooms_data / "rooms").get(record.id).state == "ended"


def test_clean_restart_ends_live_rooms_and_keeps_them_listed(start_server: Any) -> None:
    first = start_server()
    room = run(create_room(first.url, host_token(), title="Before restart"))
    first.stop()
    second = start_server()
    status = second.call(_status(second, room["id"]))
    assert status["state"] == "ended" and status["ended_at"] >= status["started_at"]
    record = RoomStore(second.config.rooms_dir).get(room["id"])
    assert record is not None and record.state != LIVE


async def _status(server: Any, room_id: str) -> dict:
    from rooms.hub import HUB

    hub = server.app[HUB]
    return hub.status(hub.store.get(room_id))


def test_damaged_state_file_does_not_stop_the_server(rooms_data: Path) -> None:
    folder = rooms_data / "rooms"
    folder.mkdir(parents=True)
    (folder / "rooms.json").write_text("{broken")
    store = RoomStore(folder)
    assert store.rooms == {} and (folder / "rooms.damaged").exists()
