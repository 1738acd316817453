"""Start Debian's Chromium through Playwright, and serve the portal on loopback for it."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
# Installed by `make test` (make browser) from the npm registry, inside the venv.
AXE = ROOT / ".venv" / "npm" / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
DESKTOP = {"width": 1366, "height": 900}
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


@contextmanager
def launch_chromium(extra_flags: list[str] | None = None) -> Iterator:
    """Yield a Playwright browser driving /usr/bin/chromium; skip if it is not installed."""
    if not shutil.which(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS + (extra_flags or []), headless=True
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """One Chromium for all of a module's tests: a launch costs seconds, a context almost
    nothing, and contexts share no cookies, storage or permissions."""
    with launch_chromium() as browser:
        yield browser


@pytest.fixture
def browser(chromium: Any) -> Iterator[Any]:
    """The module's Chromium; the contexts (and pages) a test opened close when it ends."""
    yield chromium
    for context in chromium.contexts:
        context.close()


@contextmanager
def serve(app: Flask | Callable[..., Any], port: int = 0) -> Iterator[str]:
    """Serve `app` (Flask or any WSGI app) on loopback (`port`, or a free one) in a thread;
    yield its base URL."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def screenshot_dir() -> Path:
    """Where browser tests leave their screenshots: outside the repository."""
    chosen = os.environ.get("SPACES_SCREENSHOT_DIR")
    path = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "spaces-screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a PNG of `page` as NAME-WIDTHxHEIGHT.png in screenshot_dir(); return its path."""
    size = page.viewport_size or {"width": 0, "height": 0}
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    path = screenshot_dir() / f"{slug}-{size['width']}x{size['height']}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page is wider than its viewport (0: no sideways scroll)."""
    return int(
        page.evaluate(
            "Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - document.documentElement.clientWidth"
        )
    )


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """Run axe-core in `page` (or a frame); describe each violation of the given impacts.

    The script is evaluated through the DevTools protocol, which the pages' CSP does not
    govern, so nothing has to be relaxed for the check.
    """
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed at {AXE}: run `make browser`")
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    results = page.evaluate(
        "axe.run(document, {iframes: false, resultTypes: ['violations']})"
        ".then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})))"
    )
    return [
        f"{v['impact']}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for v in results
        if v["impact"] in impacts
    ]


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail saying `what` did not happen.

    Not page.wait_for_function: that evaluates a string inside the page, which the
    portal's CSP (no eval) forbids; checks here call page.evaluate from Python instead.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s (last: {value!r})")
        time.sleep(0.1)


def wait_for_swap(page: Any, timeout_ms: float = 30000) -> None:
    """Wait until the page a portal link or form asked for is in place.

    The portal swaps pages in without unloading the document (so the player keeps
    playing), marking it `aria-busy` meanwhile: a click that submits a form returns
    before its answer is shown.
    """
    page.locator("html[aria-busy]").wait_for(state="detached", timeout=timeout_ms)
