"""Serve a live room's mix as HTTP Live Streaming, for audiences too big for WebRTC.

The listener packets (Opus, 40 ms) are muxed as they are into fragmented MP4 segments
of one second by FFmpeg's HLS muxer: no second encode, and speech is playable about
a segment and a playlist refresh after it is said. Files live under
<data_dir>/hls/<room_id>/ while the room is live and are removed when it ends.

Caching: every run of a room's stream (a room reopened under the same id, or resumed
after a server restart, is a new run) names its init segment and media segments with
a fresh random prefix, so a name never stands for two contents and any HTTP cache may
keep segments for good. The playlist, whose address never changes, is cached for one
segment duration.
"""

from __future__ import annotations

import logging
import re
import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path

from rooms.opusmux import OpusMux

log = logging.getLogger(__name__)

SEGMENT_S = 1
PLAYLIST = "index.m3u8"
# <run>-init.mp4 and <run>-seg<n>.m4s; run is 8 hex digits, new for every writer.
NAME_RE = re.compile(r"^(index\.m3u8|[0-9a-f]{8}-(init\.mp4|seg\d{1,9}\.m4s))$")
PLAYLIST_CACHE = f"public, max-age={SEGMENT_S}"
SEGMENT_CACHE = "public, max-age=31536000, immutable"
# A segment that is gone stays gone, but a playlist missing before the first segment
# appears: a miss is remembered about as long as a playlist, so caches still absorb
# a crowd asking for it.
MISSING_CACHE = f"public, max-age={SEGMENT_S}"


def folder_for(data_dir: Path, room_id: str) -> Path:
    """Return where a room's HLS files are written."""
    return data_dir / "hls" / room_id


def url_for(rooms_url: str, room_id: str) -> str:
    """Return the public playlist address of a room."""
    return f"{rooms_url}/hls/{room_id}/{PLAYLIST}"


class HlsWriter(OpusMux):
    """Mux listener packets into a live HLS playlist (a mixer PacketSink)."""

    def __init__(self, folder: Path, extradata: bytes) -> None:
        self.folder = folder
        self.run = secrets.token_hex(4)
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        options = {
            "hls_time": str(SEGMENT_S),
            "hls_list_size": "10",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": f"{self.run}-init.mp4",
            "hls_segment_filename": str(folder / f"{self.run}-seg%d.m4s"),
            # temp_file: segments and playlist appear only once complete (rename).
            "hls_flags": "delete_segments+temp_file+independent_segments+program_date_time",
        }
        super().__init__(folder / PLAYLIST, "hls", extradata, options)

    def last_segment_at(self) -> float | None:
        """Return the wall-clock time (Unix seconds) the newest segment was listed, or None.

        The muxer rewrites the playlist exactly when a segment is complete, so its
        modification time is that moment; None before the first segment and after close.
        """
        try:
            return (self.folder / PLAYLIST).stat().st_mtime
        except FileNotFoundError:
            return None

    def last_segment_age_s(self, now: float | None = None) -> float | None:
        """Return how many seconds ago the newest segment was listed, or None if none was."""
        at = self.last_segment_at()
        if at is None:
            return None
        return max(0.0, (time.time() if now is None else now) - at)

    def close(self) -> None:
        """Stop the stream and remove its files: HLS is for live rooms only."""
        try:
            super().close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def writer_of(sinks: Iterable[object]) -> HlsWriter | None:
    """Return the HLS writer among a mixer's packet sinks, or None when the room has none."""
    return next((sink for sink in sinks if isinstance(sink, HlsWriter)), None)
