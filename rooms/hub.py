"""The room server's state: every room's record, the live rooms, and the portal pinger.

Rooms outlive the process: a clean stop leaves live rooms live in the store, and the
next start resumes them (their participants reconnect with resume tokens), unless
the server was down longer than the host's grace period, in which case they end.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from rooms import hls
from rooms.config import RoomsConfig
from rooms.ping import Pinger
from rooms.recording import AUDIO, CAPTIONS, RecordingStore, finish, start_media
from rooms.room import Room, RoomError
from rooms.store import (
    ENDED,
    LIVE,
    SCHEDULED,
    RoomRecord,
    RoomStore,
    isoformat,
    parse_iso,
    utcnow,
)

log = logging.getLogger(__name__)


class RoomHub:
    """Create, start, describe and end rooms; own every live Room object."""

    def __init__(self, config: RoomsConfig) -> None:
        self.config = config
        self.store = RoomStore(config.rooms_dir)
        self.live: dict[str, Room] = {}
        # Joins that came back with a valid resume token (read by /metrics).
        self.reconnects = 0
        self.recordings = RecordingStore(config.data_dir / "recordings", config.recording_keep_s)
        self.pinger = Pinger(config.portal_url, config.ping_timeout_s)
        self._housekeeping: asyncio.Task[None] | None = None

    def share_url(self, room_id: str) -> str:
        """Return the public page address of a room."""
        return f"{self.config.rooms_url}/s/{room_id}"

    def create(
        self, host_identity: str, host_name: str, fields: dict[str, Any], **host: str
    ) -> RoomRecord:
        """Create a room; it is live at once unless it is scheduled for later.

        `fields` may hold a chosen `id`: free, or an ended room of this host, which
        is opened again (its earlier recording is replaced). `host` holds the host's
        public `host_handle` and `host_profile`.
        """
        fields = dict(fields)
        room_id = fields.pop("id", "")
        earlier = self.store.get(room_id) if room_id else None
        if earlier is not None:
            if earlier.host_identity != host_identity:
                raise RoomError("taken", f"the room id {room_id!r} belongs to another host")
            if earlier.state != ENDED:
                raise RoomError("open", f"the room {room_id!r} is open already")
            # A fresh run under the same address: the old replay must not mix with it.
            shutil.rmtree(self.recordings.path(room_id), ignore_errors=True)
        record = self.store.create(
            room_id, host_identity=host_identity, host_name=host_name, **host, **fields
        )
        if not record.scheduled_start:
            self.start(record)
        return record

    def update_host(self, record: RoomRecord, name: str, handle: str, profile: str) -> None:
        """Show the host as their latest token presents them (permissions keep `sub`)."""
        if (record.host_name, record.host_handle, record.host_profile) != (name, handle, profile):
            record.host_name, record.host_handle, record.host_profile = name, handle, profile
            self.store.save()

    def room_for(self, record: RoomRecord) -> Room:
        """Return the room's live object, creating it (a scheduled room stays scheduled)."""
        if record.state == ENDED:
            raise RoomError("ended", "this space has ended; it cannot be joined again")
        room = self.live.get(record.id)
        if room is None:
            room = self.live[record.id] = Room(
                record,
                on_change=lambda _room: None,
                config=self.config,
                on_abandoned=self._abandoned,
                on_record=self.store.save,
            )
            room.on_failed = self._failed
        return room

    def start(self, record: RoomRecord) -> Room:
        """Make the room live (if it is not) and return its Room object."""
        room = self.room_for(record)
        if record.state != LIVE:
            record.start()
            self.store.save()
            self.pinger.ping(self.share_url(record.id))
            room.host_check()
            room.send_state_now()
        # media: recording, HLS and captions run while the room is live (rooms/recording.py).
        start_media(self.config, room)
        return room

    async def _abandoned(self, room: Room) -> None:
        await self.end(room.record)

    def _failed(self, room: Room) -> None:
        asyncio.ensure_future(self.end(room.record))

    def start_housekeeping(self) -> None:
        """Resume the rooms found live, then cancel scheduled rooms nobody started, in rounds."""
        if self._housekeeping is None:
            self.resume_live_rooms()
            self._housekeeping = asyncio.ensure_future(self._housekeep())

    def resume_live_rooms(self) -> list[RoomRecord]:
        """Bring back the rooms recorded as live; return those ended instead.

        A room comes back live (its host's grace period starts, its recording goes on
        in a new segment) unless the server was down longer than that grace period:
        nobody was there to hold it, so it ends now and the portal hears at once.
        """
        last = self.store.last_beat()
        down_s = time.time() - last if last is not None else float("inf")
        ended: list[RoomRecord] = []
        for record in self.store.live_rooms():
            if down_s > self.config.host_grace_s:
                log.info("room %s: server was down %.0f s; ended", record.id, down_s)
                record.end()
                if last is not None:  # it ended when the server stopped, not now
                    record.ended_at = isoformat(datetime.fromtimestamp(last, UTC))
                finish(self.recordings.path(record.id), record)
                ended.append(record)
                self.pinger.ping(self.share_url(record.id))
            else:
                log.info("room %s: resumed after a restart", record.id)
                start_media(self.config, self.room_for(record))
        if ended:
            self.store.save()
        self.store.beat()
        return ended

    async def _housekeep(self) -> None:
        while True:
            try:
                self.store.beat()
                await self.cancel_overdue()
            except Exception:
                log.exception("room housekeeping failed; retrying at the next round")
            await asyncio.sleep(self.config.housekeeping_s)

    async def cancel_overdue(self) -> list[RoomRecord]:
        """End scheduled rooms whose start time passed more than the grace period ago."""
        cutoff = utcnow().timestamp() - self.config.schedule_grace_s
        overdue = [
            r
            for r in self.store.rooms.values()
            if r.state == SCHEDULED
            and r.scheduled_start
            and (parse_iso(r.scheduled_start) or utcnow()).timestamp() < cutoff
        ]
        for record in overdue:
            log.info("room %s was never started; cancelled", record.id)
            await self.end(record)
        return overdue

    async def end(self, record: RoomRecord) -> None:
        """End the room for good: record it, disconnect everyone, tell the portal."""
        if record.state == ENDED:
            return
        record.end()
        self.store.save()
        room = self.live.pop(record.id, None)
        try:
            if room is not None:
                await room.end()
        finally:
            # The portal hears of the end even if tearing the room down failed.
            self.pinger.ping(self.share_url(record.id))

    def status(self, record: RoomRecord) -> dict[str, Any]:
        """Return the public status JSON of a room."""
        room = self.live.get(record.id)
        speakers = room.speakers if room else []
        return {
            "id": record.id,
            "title": record.title,
            "description": record.description,
            "state": record.state,
            "host": {
                "name": record.host_name,
                "handle": record.public_handle,
                "profile": record.host_profile,
            },
            "speakers": speakers,
            "speaker_count": len(speakers),
            "listener_count": room.listener_count if room else 0,
            "started_at": record.started_at,
            "scheduled_start": record.scheduled_start,
            "ended_at": record.ended_at,
            "topics": record.topics,
            "lang": record.lang,
            "share_url": self.share_url(record.id),
            # media: the HLS playlist while the room is live (rooms/hls.py).
            "hls_url": hls.url_for(self.config.rooms_url, record.id)
            if room is not None and record.state == LIVE and self.config.hls
            else None,
            "recording_url": self.replay_path(record, AUDIO),
            "transcript_url": self.replay_path(record, CAPTIONS),
        }

    def replay_path(self, record: RoomRecord, name: str) -> str:
        """Return where the ended space's recording (or captions) is served, or "".

        "" while the space is live, when nothing was written, and once the keeping
        time has passed.
        """
        if record.state != ENDED:
            return ""
        meta = self.recordings.meta(record.id)
        if meta is None or not (self.recordings.path(record.id) / name).exists():
            return ""
        if self.recordings.expired(record.id, meta, live=False):
            return ""
        return f"/api/rooms/{record.id}/" + ("recording" if name == AUDIO else name)

    async def shutdown(self) -> None:
        """Disconnect everyone, keeping live rooms live for the next start; stop pinging.

        Participants are closed with 1012 (service restart) and reconnect with their
        resume tokens; each room's recording segment is closed and goes on at start.
        """
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            self._housekeeping = None
        rooms = list(self.live.values())
        self.live.clear()
        results = await asyncio.gather(*(room.close() for room in rooms), return_exceptions=True)
        for room, result in zip(rooms, results, strict=True):
            if isinstance(result, BaseException):
                log.error("room %s: closing at shutdown failed: %r", room.record.id, result)
        self.store.save()
        self.store.beat()
        await self.pinger.close()


HUB = web.AppKey("rooms_hub", RoomHub)
