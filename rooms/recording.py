"""Record each space as its listeners heard it; anyone may replay it for 30 days after.

The recording is muxed into Ogg Opus from the very packets the mixer sends to the
listeners (no second encode), with the captions (if anyone turned them on) as WebVTT
beside it:

    <data_dir>/recordings/<room_id>/audio.ogg, captions.vtt, meta.json

`meta.json` names the host and the start and end times, so recordings outlive the
room records and server restarts. Past the keeping time a recording is never served
(rooms.media_api), whether or not rooms.retention has deleted it yet.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from rooms import hls
from rooms.captions import CaptionFeed
from rooms.opusmux import OpusMux
from rooms.store import RoomRecord, parse_iso

log = logging.getLogger(__name__)

AUDIO, CAPTIONS, META = "audio.ogg", "captions.vtt", "meta.json"


class Recorder(OpusMux):
    """Mux the listener packets of one room into an Ogg Opus file (a mixer PacketSink)."""

    def __init__(self, folder: Path, record: RoomRecord, extradata: bytes) -> None:
        self.folder = folder
        self.record = record
        folder.mkdir(parents=True, exist_ok=True)
        write_meta(folder, record)
        super().__init__(folder / AUDIO, "ogg", extradata)

    def close(self) -> None:
        """Finish the file and note when the space ended."""
        super().close()
        write_meta(self.folder, self.record)


def write_meta(folder: Path, record: RoomRecord) -> None:
    """Write who hosted the space and when it ran, atomically."""
    meta = {
        "room_id": record.id,
        "title": record.title,
        "host_identity": record.host_identity,
        "started_at": record.started_at,
        "ended_at": record.ended_at,
    }
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".meta-")
    with os.fdopen(fd, "w") as handle:
        json.dump(meta, handle)
    os.replace(tmp, folder / META)


class RecordingStore:
    """Find recordings, tell whether one may still be served, and delete expired ones."""

    def __init__(self, folder: Path, keep_s: float, clock: Callable[[], float] = time.time) -> None:
        self.folder = folder
        self.keep_s = keep_s
        self.clock = clock  # injectable: tests move time past the keeping period

    def path(self, room_id: str) -> Path:
        """Return the folder of a room's recording."""
        return self.folder / room_id

    def meta(self, room_id: str) -> dict[str, Any] | None:
        """Return a recording's metadata, or None if there is no recording."""
        try:
            meta: dict[str, Any] = json.loads((self.path(room_id) / META).read_text())
            return meta
        except (FileNotFoundError, ValueError):
            return None

    def ended_at(self, room_id: str, meta: dict[str, Any]) -> float | None:
        """Return when the space ended (Unix time), or None while it is live."""
        ended = parse_iso(meta.get("ended_at"))
        if ended is not None:
            return ended.timestamp()
        return None

    def expired(self, room_id: str, meta: dict[str, Any], live: bool) -> bool:
        """Return True once the keeping time after the end has passed."""
        ended = self.ended_at(room_id, meta)
        if ended is None and not live:
            # Ended by a crash before its end was noted: the file's last write is the end.
            audio = self.path(room_id) / AUDIO
            ended = audio.stat().st_mtime if audio.exists() else 0.0
        return ended is not None and self.clock() > ended + self.keep_s

    def purge(self, live: set[str] | frozenset[str] = frozenset()) -> list[str]:
        """Delete every expired recording (never a live room's); return their room ids."""
        removed: list[str] = []
        if not self.folder.exists():
            return removed
        for folder in sorted(self.folder.iterdir()):
            if not folder.is_dir() or folder.name in live:
                continue
            meta = self.meta(folder.name) or {}
            if self.expired(folder.name, meta, live=False):
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder.name)
        return removed


RECORDINGS = web.AppKey("rooms_recordings", RecordingStore)


def start_media(config: Any, room: Any) -> None:
    """Record, stream (HLS) and caption a room that has just gone live; once per room."""
    if getattr(room, "captions", None) is not None:
        return
    mixer = room.mixer
    extradata = mixer.encoder.extradata
    folder = config.data_dir / "recordings" / room.record.id
    try:
        mixer.packet_sinks.append(Recorder(folder, room.record, extradata))
    except Exception:
        # The space goes on without a recording; the log says why (disk, permissions).
        log.exception("room %s: cannot record", room.record.id)
    if config.hls:
        try:
            folder_hls = hls.folder_for(config.data_dir, room.record.id)
            mixer.packet_sinks.append(hls.HlsWriter(folder_hls, extradata))
        except Exception:
            log.exception("room %s: cannot write HLS", room.record.id)
    # Captions run only while someone has them on (rooms.captions); registered as a
    # packet sink so the mixer's close transcribes what is still collected.
    room.captions = CaptionFeed(room, folder / CAPTIONS, enabled=config.captions)
    mixer.packet_sinks.append(room.captions)
