"""`spaces up` keeps the site up when the room server dies, and still stops at once on Ctrl-C.

The room server's process is killed with SIGKILL: the portal keeps answering through
the gap, the room server is started again on its port, and the console says so in one
line. Killed again and then stopped at once, nothing is started again while stopping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.spaces.test_up import wait_for
from tests.support import free_port

pytestmark = pytest.mark.slow

SPACES = Path(sys.executable).parent / "spaces"  # the console script


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _rooms_pids(rooms_port: int) -> list[int]:
    """Return the pids of room server processes `spaces up` started on this port."""
    found = subprocess.run(
        ["pgrep", "-f", f"spaces.child rooms --host 127.0.0.1 --port {rooms_port}$"],
        capture_output=True,
        text=True,
    )
    return [int(pid) for pid in found.stdout.split()]


def test_a_killed_room_server_comes_back_while_the_portal_keeps_answering(
    tmp_path: Path,
) -> None:
    port, rooms_port = free_port(), free_port()
    portal, rooms = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rooms_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACES_")} | {
        "SPACES_DATA_DIR": str(tmp_path / "var")
    }
    log_path = tmp_path / "up.log"
    with open(log_path, "wb") as log:
        up = subprocess.Popen(
            [str(SPACES), "up", "--port", str(port), "--rooms-port", str(rooms_port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for(lambda: "Spaces is up." in log_path.read_text(), 90, "spaces up starting")
        [first] = _rooms_pids(rooms_port)
        os.kill(first, signal.SIGKILL)
        killed = time.monotonic()

        # Through the gap the portal answers every request, and the room server returns.
        answers = []
        while time.monotonic() - killed < 30:
            answers.append(_status(f"{portal}/api/v1/spaces?per_page=1"))
            try:
                if _status(f"{rooms}/rooms.atom") == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        back = time.monotonic() - killed
        print(f"room server answering again {back:.1f} s after SIGKILL")
        assert _status(f"{rooms}/rooms.atom") == 200, log_path.read_text()[-3000:]
        assert answers and set(answers) == {200}
        [second] = _rooms_pids(rooms_port)
        assert second != first
        text = wait_for(
            lambda: "The room server is back" in (t := log_path.read_text()) and t,
            10,
            "the console saying the room server is back",
        )
        assert "The room server stopped (killed by SIGKILL); restarting it in 1 s." in text
        assert f"The room server is back at {rooms}/." in text
        assert "Traceback" not in text, text

        # Killed again and stopped at once: no restart while stopping, and no leftovers.
        os.kill(second, signal.SIGKILL)
        os.kill(up.pid, signal.SIGINT)
        began = time.monotonic()
        assert up.wait(timeout=30) == 0, log_path.read_text()[-3000:]
        print(f"stopped in {time.monotonic() - began:.1f} s")
        time.sleep(1.5)  # past the restart pause: a restart would have come by now
        assert _rooms_pids(rooms_port) == []
        assert subprocess.run(["pgrep", "-f", str(tmp_path / "var")]).returncode == 1
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
