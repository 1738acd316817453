"""`spaces up` twice on the same data: what it prints, and one demo listing, live again.

The first start is quiet (news and problems only), the second verbose (every part's
log). Between them the demo room ends with its room server; on the second start it
opens again under the same address, and the portal's listing of that address comes
back live instead of a second listing appearing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.spaces.test_up import wait_for
from tests.support import free_port

pytestmark = pytest.mark.slow

SPACES = Path(sys.executable).parent / "spaces"  # the console script
CHATTER = ["alembic", "Context impl SQLiteImpl", "rq.worker", "Job OK", "setup plugin"]


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # loopback only
        return json.loads(response.read())


def _demo_listings(portal: str, rooms: str) -> list[dict[str, Any]]:
    items = _get_json(f"{portal}/api/v1/spaces?per_page=100")["items"]
    return [item for item in items if item["url"].startswith(f"{rooms}/s/")]


def _live_demo(portal: str, rooms: str, since: datetime) -> dict[str, Any] | None:
    """Return the demo's listing once a check made after `since` found it live."""
    for item in _demo_listings(portal, rooms):
        checked = item["last_checked_at"]
        if item["state"] == "live" and checked and datetime.fromisoformat(checked) > since:
            return item
    return None


def _run_until_demo_is_live(workdir: Path, ports: tuple[int, int], *flags: str) -> tuple[str, int]:
    """Start `spaces up`, wait for the demo to be listed live, stop it; return output, id."""
    port, rooms_port = ports
    portal, rooms = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{rooms_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPACES_")} | {
        "SPACES_DATA_DIR": str(workdir / "var"),
        "SPACES_LIVE_CHECK_INTERVAL": "10",
    }
    log_path = workdir / f"up{'-'.join(flags)}.log"
    started = datetime.now(UTC)
    with open(log_path, "wb") as log:
        child = subprocess.Popen(
            [str(SPACES), "up", "--port", str(port), "--rooms-port", str(rooms_port), *flags],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            demo = wait_for(
                lambda: _live_demo(portal, rooms, started), 240, "the demo checked and live"
            )
            listings = _demo_listings(portal, rooms)
            os.kill(child.pid, signal.SIGINT)
            assert child.wait(timeout=60) == 0, log_path.read_text()[-3000:]
        finally:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGKILL)
    assert [item["id"] for item in listings] == [demo["id"]], listings
    return log_path.read_text(), demo["id"]


def test_two_starts_keep_one_demo_listing_and_print_what_matters(tmp_path: Path) -> None:
    ports = (free_port(), free_port())
    quiet, first_id = _run_until_demo_is_live(tmp_path, ports)

    assert "Spaces is up." in quiet
    assert f"Portal ready at http://127.0.0.1:{ports[0]}/" in quiet
    assert f"Room server ready at http://127.0.0.1:{ports[1]}/" in quiet
    assert "demo room live at" in quiet
    assert "Press Ctrl-C to stop everything." in quiet
    for chatter in CHATTER:
        assert chatter not in quiet, quiet
    assert "Traceback" not in quiet, quiet
    assert len(quiet.splitlines()) < 30, quiet

    verbose, second_id = _run_until_demo_is_live(tmp_path, ports, "--verbose")
    assert second_id == first_id, "a restart listed the demo room again under a new id"
    assert "Context impl SQLiteImpl" in verbose and "Job OK" in verbose
    assert "Spaces is up." in verbose
