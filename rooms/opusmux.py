"""Mux the listeners' Opus packets, as they are, into a container file (no second encode).

Both the recording (Ogg) and the HLS stream (fragmented MP4) are written from the very
packets the mixer sends to listeners; only the container and its options differ.
"""

from __future__ import annotations

from pathlib import Path

import av

from rooms.mixer import LISTENER_FRAME_SAMPLES, TIME_BASE


class OpusMux:
    """Write listener packets into one output container (a mixer PacketSink)."""

    def __init__(
        self, path: Path, container: str, extradata: bytes, options: dict[str, str] | None = None
    ) -> None:
        self._out = av.open(str(path), "w", format=container, options=options or {})
        stream = self._out.add_stream("libopus", rate=48000)
        stream.codec_context.layout = "mono"
        # The OpusHead of the listeners' encoder: the file carries its packets as they are.
        stream.codec_context.extradata = extradata
        stream.time_base = TIME_BASE
        self._stream = stream
        self._first: int | None = None

    def write(self, payload: bytes, pts: int) -> None:
        """Append one listener packet, timed from the first one written."""
        if self._first is None:
            self._first = pts
        packet = av.Packet(payload)
        packet.pts = packet.dts = pts - self._first
        packet.duration = LISTENER_FRAME_SAMPLES
        packet.time_base = TIME_BASE
        packet.stream = self._stream
        self._out.mux(packet)

    def close(self) -> None:
        """Flush and close the container."""
        self._out.close()
