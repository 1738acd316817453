"""Audio sources for client peers: a steady tone, a looping WAV file, tone sequences."""

from __future__ import annotations

import asyncio
import fractions
import time
import wave
from pathlib import Path

import av
import numpy as np
from aiortc.mediastreams import MediaStreamTrack

RATE = 48000
FRAME = 960  # 20 ms


def tone(freq_hz: float, seconds: float, *, rate: int = RATE, level: float = 0.3) -> np.ndarray:
    """Return `seconds` of a sine at `freq_hz` as int16 samples."""
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq_hz * t) * level * 32767).astype(np.int16)


def chime_sequence(rate: int = RATE) -> np.ndarray:
    """Return a gentle 8-second arpeggio (C major, soft attack and decay) as int16."""
    notes = [523.25, 659.25, 783.99, 1046.5, 783.99, 659.25, 587.33, 698.46]
    parts = []
    for freq in notes:
        t = np.arange(int(rate * 1.0)) / rate
        envelope = np.minimum(t / 0.03, 1.0) * np.exp(-2.5 * t)
        wave_ = np.sin(2 * np.pi * freq * t) + 0.25 * np.sin(4 * np.pi * freq * t)
        parts.append(wave_ * envelope * 0.25)
    return (np.concatenate(parts) * 32767).astype(np.int16)


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> Path:
    """Write mono int16 `samples` to a WAV file at `path` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())
    return path


def read_wav(path: Path) -> np.ndarray:
    """Return a 16-bit WAV file's audio as mono 48 kHz int16 samples."""
    with wave.open(str(path), "rb") as src:
        if src.getsampwidth() != 2:
            raise ValueError(f"{path}: only 16-bit PCM WAV files are supported")
        channels, rate = src.getnchannels(), src.getframerate()
        data = np.frombuffer(src.readframes(src.getnframes()), dtype="<i2")
    mono: np.ndarray = data.reshape(-1, channels).mean(axis=1)
    if rate != RATE:
        # Linear interpolation is plenty for demo and test audio.
        positions = np.arange(int(len(mono) * RATE / rate)) * rate / RATE
        mono = np.interp(positions, np.arange(len(mono)), mono)
    if len(mono) < FRAME:
        raise ValueError(f"{path}: the file holds less than 20 ms of audio")
    return mono.astype(np.int16)


class LoopTrack(MediaStreamTrack):
    """An audio track playing `samples` in a loop, in real time, 20 ms per frame."""

    kind = "audio"

    def __init__(self, samples: np.ndarray) -> None:
        super().__init__()
        self.samples = samples
        self._pos = 0
        self._pts = 0
        self._start: float | None = None

    async def recv(self) -> av.AudioFrame:
        """Return the next 20 ms frame once its time has come."""
        if self._start is None:
            self._start = time.monotonic()
        wait = self._start + self._pts / RATE - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        idx = (self._pos + np.arange(FRAME)) % len(self.samples)
        self._pos = (self._pos + FRAME) % len(self.samples)
        frame = av.AudioFrame.from_ndarray(
            self.samples[idx].reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = RATE
        frame.pts = self._pts
        frame.time_base = fractions.Fraction(1, RATE)
        self._pts += FRAME
        return frame
