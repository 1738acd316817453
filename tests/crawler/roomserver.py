"""The project's real room server on loopback, for crawling its pages and directory."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import urllib.request
from pathlib import Path
from typing import Any

from aiohttp import web

from rooms.app import create_app
from rooms.config import RoomsConfig
from rooms.tokens import issue_token

SECRET = "crawler-test-rooms-secret-long-enough-for-hs256"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RoomServer:
    """Run `rooms.app.create_app` on its own loop in a thread; drive it over HTTP."""

    def __init__(self, data_dir: Path) -> None:
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        # Pings go to a port nobody listens on: the portal is not part of these tests.
        self.config = RoomsConfig(
            data_dir=data_dir,
            secret=SECRET,
            rooms_url=self.url,
            portal_url=f"http://127.0.0.1:{_free_port()}",
            ping_timeout_s=0.5,
            captions=False,
            hls=False,
        )
        self.port = port
        self.loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> RoomServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self.loop).result(30)
        return self

    async def _start(self) -> None:
        self._runner = web.AppRunner(create_app(self.config), shutdown_timeout=2.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    def stop(self) -> None:
        async def cleanup() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
            current = asyncio.current_task()
            leftovers = [t for t in asyncio.all_tasks() if t is not current]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(cleanup(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def _call(self, method: str, path: str, token: str, body: Any = None) -> dict[str, Any]:
        request = urllib.request.Request(
            self.url + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else {}

    def open_room(self, identity: str, name: str, **fields: Any) -> dict[str, Any]:
        """Create a room as host `identity`; return its status JSON."""
        token = issue_token(SECRET, identity, name=name, grants=["host"])
        return self._call("POST", "/api/rooms", token, fields)

    def end_room(self, identity: str, name: str, room_id: str) -> None:
        """End a room with its host's token."""
        token = issue_token(SECRET, identity, name=name, grants=["host"])
        self._call("DELETE", f"/api/rooms/{room_id}", token)
