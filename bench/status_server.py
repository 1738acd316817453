"""A room-server status endpoint for benchmarks and tests, in its own process.

It answers `GET /api/rooms/<id>` for any id as a live room, until a plan posted to
`POST /plan` ({"room id": unix time}) says the room ends at that time.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent


class StatusServerProcess:
    """A handle on the status server process: its base URL, its plan, and stopping it."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.base = f"http://127.0.0.1:{port}"

    def plan(self, ends: dict[str, float]) -> None:
        """Tell the server when each of these rooms ends (unix times)."""
        # Our own server on loopback, http only: the scheme audit does not apply.
        request = urllib.request.Request(  # noqa: S310
            f"{self.base}/plan",
            data=json.dumps(ends).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        """Stop the server process."""
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_status_server(delay_s: float = 0.0) -> StatusServerProcess:
    """Start the server in a separate process (its CPU is not the worker's); return a handle."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.status_server", str(delay_s)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    assert process.stdout is not None
    line = process.stdout.readline()  # the port, once it listens
    if not line.strip().isdigit():
        process.kill()
        raise RuntimeError(f"the status server did not start: {line!r}")
    return StatusServerProcess(process, int(line))


def serve(delay_s: float) -> None:
    """Serve status JSON on a free loopback port, printing the port once listening."""
    ends: dict[str, float] = {}

    async def status(request: web.Request) -> web.Response:
        room_id = request.match_info["id"]
        if delay_s:
            await asyncio.sleep(delay_s)
        ended = ends.get(room_id, float("inf")) <= time.time()
        return web.json_response(
            {
                "id": room_id,
                "title": f"Bench room {room_id}",
                "state": "ended" if ended else "live",
                "speakers": [{"name": "host"}, {"name": "guest"}],
                "listener_count": 0 if ended else len(room_id) * 7,
                "started_at": "2026-11-23T10:00:00Z",
                "scheduled_start": None,
                "ended_at": None,
            }
        )

    async def plan(request: web.Request) -> web.Response:
        ends.update({str(k): float(v) for k, v in (await request.json()).items()})
        return web.json_response({"rooms": len(ends)})

    async def main() -> None:
        app = web.Application()
        app.router.add_get("/api/rooms/{id}", status)
        app.router.add_post("/plan", plan)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        print(runner.addresses[0][1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    serve(float(sys.argv[1]) if len(sys.argv) > 1 else 0.0)
