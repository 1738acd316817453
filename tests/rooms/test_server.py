"""`python -m rooms` serves, and SIGTERM exits cleanly, keeping live rooms for the next start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rooms.client import create_room
from tests.rooms.conftest import SECRET, free_port, host_token, run

ROOT = Path(__file__).resolve().parents[2]


def test_module_serves_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SPACES_DATA_DIR": str(tmp_path),
        "SPACES_ROOMS_SECRET": SECRET,
        "SPACES_ROOMS_URL": f"http://127.0.0.1:{port}",
        "SPACES_PORTAL_URL": f"http://127.0.0.1:{free_port()}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "rooms", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/sitemap.xml", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        room = run(create_room(url, host_token(), title="Served"))
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    state = json.loads((tmp_path / "rooms" / "rooms.json").read_text())
    (record,) = state["rooms"]
    assert record["id"] == room["id"] and record["state"] == "live" and not record["ended_at"]
    # The stop is noted, so the next start knows how long the room was left alone.
    beat = float((tmp_path / "rooms" / "heartbeat").read_text())
    assert time.time() - 30 < beat <= time.time()
