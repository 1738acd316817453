"""Keep the rooms' records (title, host, state, times, roles) in a JSON file that survives restarts.

Beside it, `heartbeat` holds when the server was last known to run (written every
housekeeping round and at shutdown), so a start after an outage can tell how long
the rooms it finds live were left alone.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCHEDULED, LIVE, ENDED = "scheduled", "live", "ended"


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


def isoformat(value: datetime | None) -> str | None:
    """Return `value` as ISO 8601 UTC with a trailing Z, or None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_iso(value: str | None) -> datetime | None:
    """Parse an ISO 8601 time (Z allowed; naive means UTC), or return None if absent."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@dataclass
class RoomRecord:
    """The lasting facts about one room; live media state lives in rooms.room.Room."""

    id: str
    title: str
    description: str
    host_identity: str
    host_name: str
    topics: list[str] = field(default_factory=list)
    lang: str = ""
    state: str = SCHEDULED
    created_at: str | None = None
    scheduled_start: str | None = None
    started_at: str | None = None
    ended_at: str | None = None
    # The host's public handle and profile from their token; `host_identity` (the
    # token's `sub`) is what permissions check, so a changed handle keeps the room.
    host_handle: str = ""
    host_profile: str = ""
    # Roles given in this run of the room, by identity (`speaker`, `cohost`): someone
    # who drops, or a server restart, brings them back in the role they had.
    roles: dict[str, str] = field(default_factory=dict)
    # Identities (and, for guests, network addresses) removed from this run for good.
    banned: list[str] = field(default_factory=list)
    banned_addresses: list[str] = field(default_factory=list)

    @property
    def public_handle(self) -> str:
        """Return the handle shown for the host: their handle claim, else their identity."""
        return self.host_handle or self.host_identity

    def start(self) -> None:
        """Mark the room live from now."""
        self.state = LIVE
        self.started_at = self.started_at or isoformat(utcnow())

    def end(self) -> None:
        """Mark the room ended from now; ending twice keeps the first time."""
        self.state = ENDED
        self.ended_at = self.ended_at or isoformat(utcnow())


class RoomStore:
    """Load, save and look up room records under `<data_dir>/rooms/rooms.json`."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "rooms.json"
        self.rooms: dict[str, RoomRecord] = {}
        folder.mkdir(parents=True, exist_ok=True)
        self._load()

    def _load(self) -> None:
        try:
            raw = json.loads(self.path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            # A damaged file must not keep the server down; keep a copy to inspect.
            backup = self.path.with_suffix(".damaged")
            log.error("room state %s unreadable (%s); moved to %s", self.path, exc, backup)
            self.path.replace(backup)
            return
        for item in raw.get("rooms", []):
            record = RoomRecord(**item)
            self.rooms[record.id] = record

    def live_rooms(self) -> list[RoomRecord]:
        """Return the rooms recorded as live."""
        return [r for r in self.rooms.values() if r.state == LIVE]

    @property
    def heartbeat_path(self) -> Path:
        """Return the file holding when the server last ran."""
        return self.path.parent / "heartbeat"

    def beat(self, when: float | None = None) -> None:
        """Note that the server runs now (Unix time `when`, default now)."""
        stamp = time.time() if when is None else when
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".heartbeat-")
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{stamp:.3f}\n")
        os.replace(tmp, self.heartbeat_path)

    def last_beat(self) -> float | None:
        """Return when the server last noted it ran (Unix time), or None if never.

        Without a heartbeat file (a data folder from before heartbeats), the state
        file's last write stands in for it.
        """
        try:
            return float(self.heartbeat_path.read_text().strip())
        except FileNotFoundError:
            pass
        except (OSError, ValueError):
            log.warning("heartbeat %s unreadable; using the state file's time", self.heartbeat_path)
        try:
            return self.path.stat().st_mtime
        except FileNotFoundError:
            return None

    def save(self) -> None:
        """Write all records atomically, so a crash never leaves half a file."""
        data = {"rooms": [asdict(r) for r in self.rooms.values()]}
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".rooms-", suffix=".json")
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=1)
        os.replace(tmp, self.path)

    def create(self, room_id: str = "", **fields: Any) -> RoomRecord:
        """Add a new room (with `room_id`, or a fresh unguessable id) and save.

        A chosen id must be free, or be an ended room of the same host, which is
        opened again with the new fields (see RoomHub.create).
        """
        if not room_id:
            room_id = secrets.token_urlsafe(9)
            while room_id in self.rooms:
                room_id = secrets.token_urlsafe(9)
        elif room_id in self.rooms and self.rooms[room_id].state != ENDED:
            raise ValueError(f"room {room_id!r} is still open")
        record = RoomRecord(id=room_id, created_at=isoformat(utcnow()), **fields)
        self.rooms[room_id] = record
        self.save()
        return record

    def get(self, room_id: str) -> RoomRecord | None:
        """Return the record for `room_id`, or None."""
        return self.rooms.get(room_id)

    def directory(self, keep_ended_s: float) -> list[RoomRecord]:
        """Return live, scheduled and recently ended rooms, newest first."""
        cutoff = utcnow().timestamp() - keep_ended_s
        listed = [
            r
            for r in self.rooms.values()
            if r.state != ENDED or (parse_iso(r.ended_at) or utcnow()).timestamp() >= cutoff
        ]
        return sorted(listed, key=lambda r: r.started_at or r.created_at or "", reverse=True)
