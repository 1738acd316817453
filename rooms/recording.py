"""Record each space as its listeners heard it; anyone may replay it for 30 days after.

The recording is muxed into Ogg Opus from the very packets the mixer sends to the
listeners (no second encode), with the captions (if anyone turned them on) as WebVTT
beside it:

    <data_dir>/recordings/<room_id>/audio.ogg, captions.vtt, meta.json

`meta.json` names the host and the start and end times, so recordings outlive the
room records and server restarts. A room resumed after a restart records on in a new
segment: the earlier `audio.ogg` becomes `part-001.ogg` (then 002, ...), and when the
room ends the parts and the last segment are joined, packets as they are, into one
`audio.ogg` (the time the server was down is left out). Past the keeping time a
recording is never served (rooms.media_api), whether or not rooms.retention has
deleted it yet.
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

import av
from aiohttp import web

from rooms import hls
from rooms.captions import CaptionFeed
from rooms.mixer import LISTENER_FRAME_SAMPLES, TIME_BASE
from rooms.opusmux import OpusMux
from rooms.store import ENDED, RoomRecord, parse_iso

log = logging.getLogger(__name__)

AUDIO, CAPTIONS, META = "audio.ogg", "captions.vtt", "meta.json"
PART = "part-{:03d}.ogg"


class Recorder(OpusMux):
    """Mux the listener packets of one room into an Ogg Opus file (a mixer PacketSink)."""

    def __init__(self, folder: Path, record: RoomRecord, extradata: bytes) -> None:
        self.folder = folder
        self.record = record
        folder.mkdir(parents=True, exist_ok=True)
        if (folder / AUDIO).exists():
            # Resumed after a restart: what was recorded so far is the previous segment.
            done = len(list(folder.glob(PART.replace("{:03d}", "*"))))
            (folder / AUDIO).replace(folder / PART.format(done + 1))
        write_meta(folder, record)
        super().__init__(folder / AUDIO, "ogg", extradata)

    def close(self) -> None:
        """Finish the file, join the segments if the space ended, and note when it ended."""
        super().close()
        if self.record.state == ENDED:
            join_segments(self.folder, self.record)
        write_meta(self.folder, self.record)


def finish(folder: Path, record: RoomRecord) -> None:
    """Close the books on a recording whose room ended while no server ran it."""
    if folder.is_dir():
        join_segments(folder, record)
        write_meta(folder, record)


def join_segments(folder: Path, record: RoomRecord) -> None:
    """Join a room's recorded segments into one `audio.ogg`, in order, without re-encoding.

    A segment cut short by a crash is kept up to where it can be read.
    """
    parts = sorted(folder.glob(PART.replace("{:03d}", "*")))
    if not parts:
        return
    sources = parts + ([folder / AUDIO] if (folder / AUDIO).exists() else [])
    joined = folder / ".joined.ogg"
    with av.open(str(sources[0])) as first:
        extradata = first.streams.audio[0].codec_context.extradata
    out = OpusMux(joined, "ogg", extradata or b"")
    offset = 0
    for source in sources:
        offset = _append(out, source, offset)
    out.close()
    joined.replace(folder / AUDIO)
    for part in parts:
        part.unlink()
    log.info("room %s: %d recording segments joined", record.id, len(sources))


def _append(out: OpusMux, source: Path, offset: int) -> int:
    """Copy `source`'s packets into `out` from `offset` (in TIME_BASE); return where it ends."""
    end, first = offset, None
    try:
        with av.open(str(source)) as container:
            for packet in container.demux(audio=0):
                if packet.pts is None or packet.size == 0:
                    continue
                pts = int(packet.pts * packet.time_base / TIME_BASE)
                first = pts if first is None else first
                at = offset + pts - first
                out.write(bytes(packet), at)
                end = at + LISTENER_FRAME_SAMPLES
    except (av.FFmpegError, OSError) as exc:
        log.warning("recording segment %s is cut short (%s); kept what was readable", source, exc)
    return end


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
