"""What each part started by `spaces up` prints: news and problems, or everything verbose."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
SPACES = Path(sys.executable).parent / "spaces"  # the console script

# A stand-in part: it sets up logging as the real ones do (RQ sets its own logger's level
# too), then logs a line of each kind a real part logs.
PART = """
import logging
from core.logs import setup_logging
from rq.logutils import setup_loghandlers

setup_logging()
setup_loghandlers("INFO")
logging.getLogger("alembic.runtime.migration").info("Context impl SQLiteImpl.")
logging.getLogger("rq.worker").info("crawl-now: Job OK (crawl-url-1)")
logging.getLogger("worker.jobs").info("1 sources due, 1 crawls queued")
logging.getLogger("gunicorn.access").info('127.0.0.1 "GET / HTTP/1.1" 200')
logging.getLogger("spaces.up").info("Portal ready at http://127.0.0.1:8000/")
logging.getLogger("rooms.demo").info("demo room live at http://127.0.0.1:8100/s/demo")
logging.getLogger("worker.jobs").warning("crawl of http://a.test/ failed: timed out")
logging.getLogger("rq.worker").error("liveness: Job failed: boom")
"""

CHATTER = ["Context impl SQLiteImpl", "Job OK", "1 sources due", "GET / HTTP/1.1"]
NEWS = ["Portal ready at http://127.0.0.1:8000/", "demo room live at"]
PROBLEMS = ["WARNING worker.jobs: crawl of http://a.test/ failed", "ERROR rq.worker: liveness"]


def _run_part(tmp_path: Path, *flags: str) -> str:
    (tmp_path / "standin_part.py").write_text(PART)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-m", "spaces.child", *flags, "standin_part"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def test_a_part_shows_news_and_problems_only(tmp_path: Path) -> None:
    out = _run_part(tmp_path)
    for line in NEWS + PROBLEMS:
        assert line in out, out
    for line in CHATTER:
        assert line not in out, out


def test_a_verbose_part_shows_everything(tmp_path: Path) -> None:
    out = _run_part(tmp_path, "--verbose")
    for line in NEWS + PROBLEMS + CHATTER[:3]:
        assert line in out, out


def test_the_launcher_says_how_to_use_it() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spaces.child"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode != 0 and "usage: python -m spaces.child" in done.stderr


@pytest.mark.parametrize("flag", ["--port", "--rooms-port"])
def test_a_port_in_use_says_what_to_do(tmp_path: Path, flag: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        ports = {"--port": free_port(), "--rooms-port": free_port(), flag: busy}
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPACES_")}
        done = subprocess.run(
            [str(SPACES), "up", *(f"{k}={v}" for k, v in ports.items())],
            capture_output=True,
            text=True,
            env=env | {"SPACES_DATA_DIR": str(tmp_path / "var")},
            cwd=ROOT,
            timeout=120,
        )
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert f"port {busy} on 127.0.0.1 is in use by another program" in out
    assert f"choose another port with {flag}" in out
    assert "Traceback" not in out
