"""`spaces up` from a non-editable install, run from another directory, end to end.

A room opened on our room server is found by the crawler, lands in the catalog and
the search index, shows as live in the portal with a Listen button that plays audio
in a real browser, and leaves "live now" when it ends.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.config import RESPONSE_CACHE_TTL_S
from tests.browser import browser, chromium, wait_for_swap
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
__all__ = ["browser", "chromium"]

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.loads(response.read())


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except OSError as error:
            last = error
        if last and not isinstance(last, Exception):
            return last
        time.sleep(0.25)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s (last: {last!r})")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Install the project non-editable into a fresh virtualenv; return its bin dir.

    The new environment reuses the test environment's third-party packages (through a
    .pth file) so only our own code is installed from the source tree.
    """
    venv = tmp_path_factory.mktemp("installed") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    ours = {"core", "portal", "rooms", "crawler", "worker", "spaces", "bench"}
    deps = [p for p in sys.path if p.endswith("site-packages")]
    (site / "_deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--prefix",
            str(venv),
            "--ignore-installed",
            str(ROOT),
        ],
        check=True,
        cwd=venv.parent,
    )
    probe = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import core, portal, rooms, crawler, worker, spaces, portal.paths as p;"
            "print(p.templates_dir()); print(portal.__file__)",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=venv.parent,
    )
    templates, module = probe.stdout.split()
    assert str(ROOT) not in module, "the installed copy must not come from the source tree"
    assert str(ROOT) not in templates
    assert ours
    return venv / "bin"


@pytest.fixture(scope="module")
def stack(installed: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    workdir = tmp_path_factory.mktemp("elsewhere")
    port, rooms_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPACES_")} | {
        "SPACES_DATA_DIR": str(workdir / "var"),
        "SPACES_LIVE_CHECK_INTERVAL": "10",
    }
    log = open(workdir / "up.log", "wb")  # noqa: SIM115 (kept open for the child's lifetime)
    child = subprocess.Popen(
        [str(installed / "spaces"), "up", "--port", str(port), "--rooms-port", str(rooms_port)],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    info = {
        "portal": f"http://127.0.0.1:{port}",
        "rooms": f"http://127.0.0.1:{rooms_port}",
        "child": child,
        "log": workdir / "up.log",
        "env": env,
        "bin": installed,
    }
    try:
        yield info
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        log.close()


def _live_demo(stack: dict) -> dict | None:
    body = get_json(stack["portal"] + "/api/v1/spaces?state=live")
    for item in body["items"]:
        if item["url"].startswith(stack["rooms"] + "/s/"):
            return item
    return None


def test_demo_room_is_live_within_60_s(stack: dict) -> None:
    started = time.monotonic()
    item = wait_for(lambda: _live_demo(stack), 90, "the demo room showing as live")
    stack["space"] = item
    elapsed = time.monotonic() - started
    assert item["state"] == "live"
    assert item["player_url"].startswith(stack["rooms"] + "/s/")
    assert elapsed < 90
    found = get_json(stack["portal"] + "/api/v1/spaces?q=demo")
    assert any(hit["id"] == item["id"] for hit in found["items"])


def test_listen_in_the_browser_plays_audio(stack: dict, browser: Any) -> None:
    item = stack.get("space") or wait_for(lambda: _live_demo(stack), 90, "demo live")
    page = browser.new_page()
    page.goto(f"{stack['portal']}/spaces/{item['id']}")
    frame = page.frame_locator("iframe.player")
    frame.get_by_role("button", name="Listen").click()
    energy = wait_for(
        lambda: page.frames[1].evaluate("window.spacesPlayer && window.spacesPlayer.energy"),
        30,
        "inbound audio energy above zero",
    )
    assert energy > 0


def test_ending_the_room_shows_ended_within_60_s(stack: dict) -> None:
    item = stack.get("space") or wait_for(lambda: _live_demo(stack), 90, "demo live")
    room_id = item["url"].rstrip("/").rsplit("/", 1)[1]
    token = subprocess.run(
        [
            str(stack["bin"] / "spaces"),
            "token",
            "spaces-demo",
            "--grant",
            "host",
            "--room",
            room_id,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=stack["env"],
        cwd=Path(stack["env"]["SPACES_DATA_DIR"]).parent,
    ).stdout.strip()
    request = urllib.request.Request(
        f"{stack['rooms']}/api/rooms/{room_id}",
        method="DELETE",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status in (200, 204)
    started = time.monotonic()
    ended = wait_for(
        lambda: get_json(f"{stack['portal']}/api/v1/spaces/{item['id']}")["state"] == "ended",
        60,
        "the portal showing the room as ended",
    )
    assert ended and time.monotonic() - started < 60
    # Listings are cached for a few seconds (RESPONSE_CACHE_TTL_S); within that the
    # ended space leaves the live ones too.
    wait_for(
        lambda: all(
            hit["id"] != item["id"]
            for hit in get_json(stack["portal"] + "/api/v1/spaces?state=live")["items"]
        ),
        RESPONSE_CACHE_TTL_S * 2,
        "the ended space leaving the live listing",
    )


def _find_live(stack: dict, words: str, title: str) -> dict | None:
    query = urllib.parse.urlencode({"q": words, "state": "live"})
    for item in get_json(f"{stack['portal']}/api/v1/spaces?{query}")["items"]:
        if item["title"] == title:
            return item
    return None


def test_a_host_opens_a_room_and_a_listener_finds_and_hears_it(stack: dict, browser: Any) -> None:
    """Host journey and listener journey together, through the real UI of both servers."""
    title = "Jazz standards night with Ada"
    subprocess.run(
        [str(stack["bin"] / "spaces"), "user", "create", "ada@example.test", "--host",
         "--name", "Ada", "--password-stdin"],
        input="a long enough passphrase\n", text=True, check=True, capture_output=True,
        env=stack["env"], cwd=Path(stack["env"]["SPACES_DATA_DIR"]).parent,
    )  # fmt: skip
    host = browser.new_context().new_page()
    host.goto(f"{stack['portal']}/account/signin")
    host.fill("#email", "ada@example.test")
    host.fill("#password", "a long enough passphrase")
    host.get_by_role("button", name="Sign in").click()
    wait_for_swap(host)  # signed in before going on, as a person waits for the page
    host.goto(f"{stack['portal']}/host/")
    host.fill("#room-title", title)
    host.fill("#room-description", "Standards, requests welcome.")
    host.fill("#room-topics", "jazz, music")
    host.get_by_role("button", name="Open room").click()
    share = host.locator("#share-link").input_value()
    assert share.startswith(stack["rooms"] + "/s/")
    with host.context.expect_page() as opened:
        host.get_by_role("link", name="Go to your room").click()
    room = opened.value
    room.get_by_role("button", name="Join as host").click()
    room.get_by_role("button", name="Unmute").click()  # hosts start muted

    # The room server pings the portal; the crawler reads the room's page.
    found = wait_for(lambda: _find_live(stack, "jazz standards", title), 60, "found")
    assert found["url"] == share

    listener = browser.new_context().new_page()
    listener.goto(stack["portal"] + "/")
    listener.fill("#site-q", "jazz standards")
    listener.press("#site-q", "Enter")
    listener.get_by_role("link", name=title).first.click()
    listener.frame_locator("iframe.player").get_by_role("button", name="Listen").click()
    player = next(f for f in listener.frames if f.url.startswith(stack["rooms"]))
    energy = wait_for(
        lambda: player.evaluate("window.spacesPlayer && window.spacesPlayer.energy"),
        30,
        "the listener hearing the host's microphone",
    )
    assert energy > 0


def test_ctrl_c_stops_everything(stack: dict) -> None:
    child: subprocess.Popen = stack["child"]
    os.kill(child.pid, signal.SIGINT)
    assert child.wait(timeout=30) == 0, stack["log"].read_text()[-3000:]
    time.sleep(0.5)
    leftovers = subprocess.run(
        ["pgrep", "-f", str(Path(stack["env"]["SPACES_DATA_DIR"]))],
        capture_output=True,
        text=True,
    ).stdout.split()
    leftovers += subprocess.run(
        ["pgrep", "-f", f"--port {stack['rooms'].rsplit(':', 1)[1]}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert leftovers == [], "processes left behind after Ctrl-C"
