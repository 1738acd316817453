"""Take each talker's Opus straight off aiortc's receiver and decode it on the event loop.

aiortc's audio receiver holds every talker back ~100 ms in its jitter buffer (four
frames of prefetch, plus waiting for the next frame to know one is complete; a lost
packet stalls it for up to sixteen), then decodes on a thread of its own. Eleven such
threads, each taking the GIL back from the loop per packet (and handing the frame over
through `run_coroutine_threadsafe`), made the mixing clock run ~45 ms late. An Opus
decode of 20 ms takes ~25 µs, so doing it inline on the loop is cheaper than any
hand-off: `ReceiverTap` replaces the receiver's jitter buffer with a pass-through and its
decoder queue with itself, and hands each payload to the room's `Talker`, which decodes
it and buffers 20 ms frames for the mixer (absorbing the arrival jitter itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import av
import numpy as np
from aiortc.codecs import get_decoder
from aiortc.jitterbuffer import JitterFrame
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from prometheus_client import Histogram

log = logging.getLogger(__name__)

# Seconds each received frame takes to decode, for the room server's /metrics. One per
# process, in no registry: the figures must outlive the talkers and rooms they came from.
DECODE_SECONDS = Histogram(
    "spaces_rooms_talker_decode_seconds",
    "Time to decode one received audio frame of a talker.",
    buckets=(1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2),
    registry=None,
)

SAMPLE_RATE = 48000
FRAME_SAMPLES = 960  # 20 ms at 48 kHz, the Opus frame browsers expect
# Keep at most this many frames buffered per talker: latency over completeness.
MAX_TALKER_FRAMES = 4
MAX_RETURN_PACKETS = 8
# Latency control. The buffer refills to two frames after running dry, to ride out
# arrival jitter; if it then holds a spare frame at every tick for TRIM_AFTER ticks
# (2 s), the jitter it guards against is not there and that frame is pure delay. The
# next quiet frame (peak under QUIET_PEAK, a pause between words) is then dropped, so
# the talker is heard 20 ms sooner and nobody hears a cut. A late packet later simply
# re-primes the buffer.
TRIM_AFTER = 100
QUIET_PEAK = 600  # of 32767: well under speech, above a quiet room's noise
_HALF = 1 << 31

# What a ReceiverTap passes on: codec name, payload and RTP timestamp.
OpusSink = Callable[[Any, bytes, int], None]


class _PassThrough:
    """Stand in for aiortc's audio jitter buffer: every packet is a frame at once."""

    def add(self, packet: Any) -> tuple[bool, JitterFrame]:
        return False, JitterFrame(data=packet._data, timestamp=packet.timestamp)


class ReceiverTap:
    """Pass a remote talker's encoded audio to the mixer, only while open.

    Installed in place of the receiver's decoder queue: the receiver calls `put` on the
    loop for every frame, and its decoder thread blocks in `get` until the receiver stops
    (the thread then ends the receiver's unused track, as aiortc expects). Closing the
    tap silences the talker from the next packet on.
    """

    def __init__(self, receiver: Any) -> None:
        for name in ("_RTCRtpReceiver__decoder_queue", "_RTCRtpReceiver__jitter_buffer"):
            if not hasattr(receiver, name):
                raise RuntimeError(f"this aiortc version has no {name}; pin aiortc 1.16")
        self.open = False
        self.dropped = 0
        self.sink: OpusSink | None = None
        self._stopped = threading.Event()
        old = receiver._RTCRtpReceiver__decoder_queue
        receiver._RTCRtpReceiver__decoder_queue = self
        receiver._RTCRtpReceiver__jitter_buffer = _PassThrough()
        old.put(None)  # a decoder thread already waiting there ends now instead of never

    def put(self, task: tuple[Any, JitterFrame] | None) -> None:
        """Take one encoded frame from the receiver (None: the receiver stops)."""
        if task is None:
            self._stopped.set()
            return
        codec, frame = task
        if self.open and self.sink is not None:
            self.sink(codec, frame.data, frame.timestamp)
        else:
            self.dropped += 1

    def get(self) -> None:
        """Park the receiver's decoder thread until the receiver stops."""
        self._stopped.wait()

    def close(self) -> None:
        """Stop passing audio on."""
        self.open = False

    def stop(self) -> None:
        """Stop for good and release the receiver's decoder thread."""
        self.open = False
        self.sink = None
        self._stopped.set()


class PacketTrack(MediaStreamTrack):
    """A talker's return track: hands pre-encoded Opus packets to its aiortc sender."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._queue: asyncio.Queue[av.Packet[Any] | None] = asyncio.Queue()

    def push(self, packet: av.Packet[Any]) -> None:
        """Queue one packet, dropping the oldest if this talker has fallen behind."""
        if self._queue.qsize() >= MAX_RETURN_PACKETS:
            with contextlib.suppress(asyncio.QueueEmpty):
                self._queue.get_nowait()
        self._queue.put_nowait(packet)

    async def recv(self) -> av.Packet[Any]:
        """Return the next packet; raise MediaStreamError once the track is stopped."""
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            raise MediaStreamError
        return packet

    def stop(self) -> None:
        """Stop the track and wake a sender waiting in recv()."""
        super().stop()
        self._queue.put_nowait(None)


def _quiet(frame: np.ndarray) -> bool:
    """Say whether a frame of samples is a pause: no sample louder than QUIET_PEAK."""
    return int(np.abs(frame.astype(np.int32)).max(initial=0)) < QUIET_PEAK


class Talker:
    """Buffer one talker's audio as 20 ms mono frames for the mixer.

    Audio comes either as encoded frames from a ReceiverTap (`push`, decoded here) or as
    decoded frames read from a track (tests, local sources).
    """

    def __init__(self, key: str, source: MediaStreamTrack | ReceiverTap) -> None:
        self.key = key
        self.returns = PacketTrack()
        self.encoder: Any = None  # the mixer's mix-minus encoder, made on first use
        self._resampler: av.AudioResampler | None = None
        self._decoder: Any = None
        self._codec: str | None = None
        self._last_ts: int | None = None
        self._pending = np.zeros(0, dtype=np.int16)
        self._primed = False
        self._steady = 0  # ticks in a row that left a spare frame buffered
        self.tap = source if isinstance(source, ReceiverTap) else None
        self.task: asyncio.Future[None] | None = None
        if isinstance(source, ReceiverTap):
            source.sink = self.push
        else:
            self.task = asyncio.ensure_future(self._read(source))

    def push(self, codec: Any, payload: bytes, timestamp: int) -> None:
        """Decode one encoded frame of this talker into the buffer."""
        if self._last_ts is not None:
            ahead = (timestamp - self._last_ts) & 0xFFFFFFFF
            if ahead == 0 or ahead >= _HALF:
                return  # a duplicate, or too late: its moment in the mix has passed
        self._last_ts = timestamp
        if codec.name != self._codec:
            self._codec = codec.name
            if codec.name == "opus":
                # Straight to the mixer's format: no resampling, no stereo to fold.
                self._decoder = av.CodecContext.create("libopus", "r")
                self._decoder.format, self._decoder.layout = "s16", "mono"
                self._decoder.sample_rate = SAMPLE_RATE
            else:
                self._decoder = get_decoder(codec)
        started = time.perf_counter()
        try:
            if self._codec == "opus":
                frames = self._decoder.decode(av.Packet(payload))
            else:
                frames = self._decoder.decode(JitterFrame(payload, timestamp))
        except av.FFmpegError as exc:
            log.debug("talker %s sent a frame that does not decode: %s", self.key, exc)
            return
        DECODE_SECONDS.observe(time.perf_counter() - started)
        for frame in frames:
            self._add(frame)

    async def _read(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                # Tracks read here are audio tracks (tests, local sources): they give
                # decoded frames, never packets.
                self._add(cast(av.AudioFrame, await track.recv()))
        except MediaStreamError:
            return

    def _add(self, frame: av.AudioFrame) -> None:
        if frame.format.name == "s16" and frame.layout.name == "mono":
            samples = [frame.to_ndarray()[0]]
        else:
            if self._resampler is None:
                self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            samples = [out.to_ndarray()[0] for out in self._resampler.resample(frame)]
        pending = np.concatenate([self._pending, *samples])
        limit = MAX_TALKER_FRAMES * FRAME_SAMPLES
        self._pending = pending[-limit:] if len(pending) > limit else pending

    def take(self) -> np.ndarray | None:
        """Return the next frame, or None while the talker is silent or refilling."""
        # After running dry wait for two frames, so arrival jitter is not heard as clicks.
        need = FRAME_SAMPLES if self._primed else 2 * FRAME_SAMPLES
        if len(self._pending) < need:
            self._primed = False
            self._steady = 0
            return None
        self._primed = True
        frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
        if len(self._pending) < FRAME_SAMPLES:
            self._steady = 0
            return frame
        self._steady += 1
        if self._steady >= TRIM_AFTER and _quiet(frame):
            # Drop this pause, serve the next frame now: one frame less delay from here on.
            frame, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
            self._steady = 0
        return frame

    def close(self) -> None:
        """Stop taking audio and stop the return track."""
        if self.tap is not None and self.tap.sink == self.push:
            self.tap.sink = None
        if self.task is not None:
            self.task.cancel()
        self.returns.stop()
