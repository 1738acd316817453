"""Serve a live room's mix as HTTP Live Streaming, for audiences too big for WebRTC.

The listener packets (Opus, 40 ms) are muxed as they are into fragmented MP4 segments
of one second by FFmpeg's HLS muxer: no second encode, and speech is playable about
a segment and a playlist refresh after it is said. Segment names are never reused
within a room, so any HTTP cache may keep them for good; the playlist changes every
second and is cached for one. Files live under <data_dir>/hls/<room_id>/ while the
room is live and are removed when it ends.
"""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

from rooms.opusmux import OpusMux

log = logging.getLogger(__name__)

SEGMENT_S = 1
PLAYLIST = "index.m3u8"
NAME_RE = re.compile(r"^(index\.m3u8|init\.mp4|seg\d{1,9}\.m4s)$")
PLAYLIST_CACHE = "public, max-age=1"
SEGMENT_CACHE = "public, max-age=31536000, immutable"


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
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        options = {
            "hls_time": str(SEGMENT_S),
            "hls_list_size": "10",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(folder / "seg%d.m4s"),
            # temp_file: segments and playlist appear only once complete (rename).
            "hls_flags": "delete_segments+temp_file+independent_segments+program_date_time",
        }
        super().__init__(folder / PLAYLIST, "hls", extradata, options)

    def close(self) -> None:
        """Stop the stream and remove its files: HLS is for live rooms only."""
        try:
            super().close()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
