"""Expired recordings are deleted; fresh ones, live ones and unknown files are kept."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from rooms import retention
from rooms.config import RoomsConfig
from rooms.recording import AUDIO, META, RecordingStore

DAY = 86400.0


def make(folder: Path, room_id: str, ended_at: str | None, *, mtime: float | None = None) -> Path:
    path = folder / "recordings" / room_id
    path.mkdir(parents=True)
    (path / AUDIO).write_bytes(b"OggS")
    meta = {"room_id": room_id, "host_identity": "alice", "ended_at": ended_at}
    (path / META).write_text(json.dumps(meta))
    if mtime is not None:
        os.utime(path / AUDIO, (mtime, mtime))
    return path


def test_purge_deletes_only_recordings_past_their_time(tmp_path: Path) -> None:
    config = RoomsConfig(data_dir=tmp_path, secret="x" * 40)
    old = make(tmp_path, "old", "2026-01-01T00:00:00Z")
    fresh = make(tmp_path, "fresh", "2026-01-25T00:00:00Z")
    live = make(tmp_path, "live", None)
    crashed = make(tmp_path, "crashed", None, mtime=time.time() - 40 * DAY)
    feb1 = 1769904000.0  # 2026-02-01T00:00:00Z

    assert retention.purge(config, live={"live"}, clock=lambda: feb1) == ["old"]
    assert not old.exists() and fresh.exists() and live.exists()
    assert crashed.exists()  # its file was written 40 days before *now*, not before Feb 1
    # Running twice is harmless.
    assert retention.purge(config, live={"live"}, clock=lambda: feb1) == []
    # Time passes: the fresh one expires too, and the crashed one by its last write.
    removed = retention.purge(config, live={"live"}, clock=lambda: time.time())
    assert sorted(removed) == ["crashed", "fresh"]
    assert live.exists()


def test_expired_is_decided_by_the_clock_not_by_the_purge(tmp_path: Path) -> None:
    make(tmp_path, "r1", "2026-01-01T00:00:00Z")
    now = [1767225600.0 + 29 * DAY]  # 29 days after 2026-01-01
    store = RecordingStore(tmp_path / "recordings", 30 * DAY, clock=lambda: now[0])
    meta = store.meta("r1")
    assert meta is not None and not store.expired("r1", meta, live=False)
    now[0] += 2 * DAY
    assert store.expired("r1", meta, live=False)
    assert store.meta("nope") is None
