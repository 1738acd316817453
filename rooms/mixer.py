"""Mix the talkers of a room in 20 ms frames and fan one Opus encode out to every listener.

The listener mix is encoded once per 40 ms and the very same bytes go to every
listener (rooms.fanout sends them without a coroutine per listener), to the
recording and to the HLS stream (`packet_sinks`); captions read the mixed samples
(`pcm_sinks`). Talkers (host and speakers) each get the mix without their own voice
("mix-minus") in 20 ms packets, encoded separately and sent through aiortc's own
sender: there are at most eleven of them and they are in a conversation. While anyone
is heard, each talker's level (0..1) is reported a few times a second (`on_levels`),
from the frames already decoded for the mix.
"""

from __future__ import annotations

import asyncio
import contextlib
import fractions
import logging
import math
import sys
import time
from collections.abc import Callable
from typing import Any, Protocol

import av
import numpy as np
from aiortc import RTCPeerConnection
from aiortc.mediastreams import MediaStreamTrack

from rooms.fanout import Fanout, ListenerTrack
from rooms.gcpolicy import POLICY
from rooms.talkers import FRAME_SAMPLES, SAMPLE_RATE, PacketTrack, ReceiverTap, Talker

__all__ = ["FRAME_SAMPLES", "SAMPLE_RATE", "Mixer", "OpusEncoder", "PacketTrack"]

log = logging.getLogger(__name__)

FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
TIME_BASE = fractions.Fraction(1, SAMPLE_RATE)
# Listeners get 40 ms packets: half the packets per second of 20 ms, so half the
# per-listener send cost, for 20 ms more delay nobody in an audience notices. The gap
# between packets stays under the 60 ms a listener's jitter buffer tolerates.
LISTENER_FRAME_MS = 40
LISTENER_FRAME_SAMPLES = SAMPLE_RATE * LISTENER_FRAME_MS // 1000
SWITCH_INTERVAL_S = 0.0005
# Talkers' audio levels (for the players' speaking rings) go out at most this often:
# one small message per room, from the loudest 20 ms frame of each talker since the
# last one.
LEVELS_PER_S = 5
LEVEL_TICKS = round(1 / (LEVELS_PER_S * FRAME_S))
LEVEL_FLOOR_DB = -60.0  # at or below this a talker shows 0; full scale shows 1


class OpusEncoder:
    """Encode mono frames of `frame_ms` to Opus packets with the timestamps we choose."""

    def __init__(self, bit_rate: int = 48000, frame_ms: int = 20) -> None:
        self.codec = av.CodecContext.create("libopus", "w")
        self.codec.sample_rate = SAMPLE_RATE
        self.codec.layout = "mono"
        self.codec.format = "s16"
        self.codec.bit_rate = bit_rate
        self.codec.time_base = TIME_BASE
        self.codec.options = {"application": "audio", "frame_duration": str(frame_ms)}
        self.frame_samples = SAMPLE_RATE * frame_ms // 1000

    @property
    def extradata(self) -> bytes:
        """Return the OpusHead a container needs to carry these packets."""
        if not self.codec.is_open:
            self.codec.open()
        return bytes(self.codec.extradata or b"")

    def encode(self, samples: np.ndarray, pts: int) -> list[av.Packet[Any]]:
        """Encode one frame of int16 samples; the packets carry `pts` in 1/48000 s."""
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = SAMPLE_RATE
        frame.pts = pts
        frame.time_base = TIME_BASE
        packets = self.codec.encode(frame)
        for packet in packets:
            # The encoder shifts pts by its look-ahead; RTP wants our steady clock.
            packet.pts = pts
            packet.time_base = TIME_BASE
        return packets


def audio_level(mean_square: float) -> float:
    """Map a frame's mean square (int16 samples) to 0..1 on a decibel scale, 2 decimals."""
    if mean_square <= 0.0:
        return 0.0
    db = 10.0 * math.log10(mean_square / (32768.0 * 32768.0))
    return round(min(1.0, max(0.0, 1.0 - db / LEVEL_FLOOR_DB)), 2)


class PacketSink(Protocol):
    """Something that keeps the listener packets: a recording, an HLS stream."""

    def write(self, payload: bytes, pts: int) -> None:
        """Take one listener packet (LISTENER_FRAME_SAMPLES long, starting at `pts`)."""

    def close(self) -> None:
        """Finish; no more packets will come."""


class Mixer:
    """Own a room's talkers and listener streams, and run the 20 ms mixing clock."""

    def __init__(self) -> None:
        self.talkers: dict[str, Talker] = {}
        self.fanout = Fanout()
        self.encoder = OpusEncoder(frame_ms=LISTENER_FRAME_MS)
        # Whatever else takes the listeners' packets or their audio (recording, HLS,
        # captions); each is called from tick(), so it must be quick.
        self.packet_sinks: list[PacketSink] = []
        self.pcm_sinks: list[Callable[[np.ndarray], None]] = []
        self._pending: list[np.ndarray] = []
        self._pts = 0
        self._task: asyncio.Task[None] | None = None
        # Told each talker's level (peer key → 0..1) while anyone is heard, and once
        # more when they have all fallen silent.
        self.on_levels: Callable[[dict[str, float]], None] | None = None
        # Told once if the mixing clock dies (not when it is closed): the room is silent
        # for good then.
        self.on_died: Callable[[BaseException | None], None] | None = None
        self._peaks: dict[str, float] = {}  # loudest mean square per talker this window
        self._level_ticks = 0
        self._levels_sounding = False  # the last levels sent had someone above 0

    def start(self) -> None:
        """Start the mixing clock on the running loop."""
        # Talkers are decoded on the loop (rooms.talkers), but captions transcribe on a
        # thread: a short switch interval keeps that thread from holding the loop (and
        # the ticks) for the default 5 ms at a time.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        POLICY.start()
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
            self._task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return  # closed on purpose
        self._task = None  # dead and reported: closing must not raise it again
        if self.on_died is not None:
            self.on_died(task.exception())

    def add_talker(self, key: str, source: MediaStreamTrack | ReceiverTap) -> PacketTrack:
        """Mix `source` in; return the track carrying everyone else back to this talker."""
        self.remove_talker(key)
        talker = Talker(key, source)
        self.talkers[key] = talker
        return talker.returns

    def remove_talker(self, key: str) -> None:
        """Stop mixing the talker `key`, if present."""
        talker = self.talkers.pop(key, None)
        if talker is not None:
            talker.close()

    def add_listener(self) -> ListenerTrack:
        """Return a new track carrying the room's mix, for a listener's sender."""
        POLICY.join()
        return self.fanout.track()

    def attach(self, track: ListenerTrack, pc: RTCPeerConnection) -> None:
        """Do nothing: listener tracks find their sender themselves (kept for callers)."""

    def remove_listener(self, track: ListenerTrack) -> None:
        """Stop feeding `track`."""
        if track in self.fanout.tracks:
            POLICY.leave()
        track.stop()

    @property
    def listeners(self) -> set[ListenerTrack]:
        """Return the listener tracks being fed."""
        return self.fanout.tracks

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            try:
                self.tick()
            except Exception:
                # One bad frame must not silence the room for good.
                log.exception("mixer tick failed")
            deadline += FRAME_S
            POLICY.tick(deadline)
            delay = deadline - loop.time()
            if delay < -0.2:
                # We were starved of CPU: skip ahead instead of sending a burst.
                deadline = loop.time()
                delay = 0.0
            await asyncio.sleep(max(0.0, delay))

    def tick(self) -> None:
        """Mix one 20 ms frame; every LISTENER_FRAME_MS encode it once and fan it out."""
        pts = self._pts
        self._pts += FRAME_SAMPLES
        frames = {key: t.take() for key, t in self.talkers.items()}
        voiced = {key: f for key, f in frames.items() if f is not None}
        total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
        for frame in voiced.values():
            total += frame
        mix = np.clip(total, -32768, 32767).astype(np.int16)
        if self.on_levels is not None and (voiced or self._peaks or self._levels_sounding):
            # Nobody on stage heard and nothing left to report: no level work at all.
            self._track_levels(voiced)
        # Listeners first: their packets leave on time, the talkers' encodes can wait.
        self._pending.append(mix)
        if len(self._pending) * FRAME_SAMPLES >= LISTENER_FRAME_SAMPLES:
            start = pts + FRAME_SAMPLES - LISTENER_FRAME_SAMPLES
            self._send_listeners(np.concatenate(self._pending), start)
            self._pending.clear()
        for feed in self.pcm_sinks:
            feed(mix)
        for key, talker in self.talkers.items():
            if not any(other != key for other in voiced):
                continue  # nobody else is talking: send this talker nothing
            own = voiced.get(key)
            minus = total - own if own is not None else total
            talker.encoder = talker.encoder or OpusEncoder()
            clipped = np.clip(minus, -32768, 32767).astype(np.int16)
            for packet in talker.encoder.encode(clipped, pts):
                talker.returns.push(packet)

    def _track_levels(self, voiced: dict[str, np.ndarray]) -> None:
        """Keep each voiced talker's loudest frame; report every LEVEL_TICKS ticks."""
        for key, frame in voiced.items():
            samples = frame.astype(np.float32)
            power = float(np.dot(samples, samples)) / len(samples)
            if power > self._peaks.get(key, 0.0):
                self._peaks[key] = power
        self._level_ticks += 1
        if self._level_ticks < LEVEL_TICKS:
            return
        self._level_ticks = 0
        levels = {key: audio_level(self._peaks.get(key, 0.0)) for key in self.talkers}
        self._peaks.clear()
        sounding = any(levels.values())
        if sounding or self._levels_sounding:
            self._levels_sounding = sounding
            assert self.on_levels is not None
            self.on_levels(levels)

    def _send_listeners(self, samples: np.ndarray, pts: int) -> None:
        wall = time.time()
        for packet in self.encoder.encode(samples, pts):
            payload = bytes(packet)
            self.fanout.send(payload, packet, pts, wall)
            for sink in self.packet_sinks:
                try:
                    sink.write(payload, pts)
                except Exception:
                    # A full disk must not cut the live audio; the sink logs and stops.
                    log.exception("listener packet sink %r failed; dropping it", sink)
                    self.packet_sinks.remove(sink)
                    break

    async def close(self) -> None:
        """Stop the clock, every track this mixer owns, and its sinks."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for key in list(self.talkers):
            self.remove_talker(key)
        for track in list(self.listeners):
            self.remove_listener(track)
        for sink in self.packet_sinks:
            try:
                sink.close()
            except Exception:
                log.exception("closing %r failed", sink)
        self.packet_sinks.clear()
        self.pcm_sinks.clear()
