"""Fixtures: a real room server (and a stand-in portal ping endpoint) on loopback."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from rooms.app import create_app
from rooms.config import RoomsConfig
from rooms.tokens import issue_token


def free_port() -> int:
    """Return a loopback TCP port that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


SECRET = "rooms-test-secret-that-is-long-enough-for-hs256"


class ServerThread:
    """Run the room server and a ping receiver on their own event loop in a thread."""

    def __init__(self, config: RoomsConfig, port: int, ping_port: int) -> None:
        self.config = config
        self.port = port
        self.ping_port = ping_port
        self.url = config.rooms_url
        self.pings: list[dict[str, Any]] = []
        self.loop = asyncio.new_event_loop()
        self.app: web.Application | None = None
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ServerThread:
        self._thread.start()
        self.call(self._start())
        return self

    def build_app(self) -> web.Application:
        """Return the room server application this thread serves."""
        return create_app(self.config)

    async def _start(self) -> None:
        self.app = self.build_app()
        portal = web.Application()
        portal.router.add_post("/api/v1/ping", self._ping)
        for app, port in ((self.app, self.port), (portal, self.ping_port)):
            runner = web.AppRunner(app, shutdown_timeout=2.0)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", port).start()
            self._runners.append(runner)

    async def _ping(self, request: web.Request) -> web.Response:
        self.pings.append(await request.json())
        return web.json_response({}, status=202)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        """Run a coroutine on the server's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        async def cleanup() -> None:
            # The room server first: its shutdown still pings the portal.
            for runner in self._runners:
                await runner.cleanup()
            # Like asyncio.run: aiortc can leave a connect task waiting on a peer that
            # was closed mid-handshake; cancel leftovers before the loop goes away.
            current = asyncio.current_task()
            leftovers = [t for t in asyncio.all_tasks() if t is not current]
            for task in leftovers:
                task.cancel()
            await asyncio.gather(*leftovers, return_exceptions=True)

        self.call(cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def make_config(data_dir: Path, port: int, ping_port: int) -> RoomsConfig:
    return RoomsConfig(
        data_dir=data_dir,
        secret=SECRET,
        rooms_url=f"http://127.0.0.1:{port}",
        portal_url=f"http://127.0.0.1:{ping_port}",
        ping_timeout_s=2.0,
    )


@pytest.fixture
def rooms_data(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def start_server(rooms_data: Path) -> Iterator[Any]:
    """Return a function starting a room server on `rooms_data`; all are stopped after.

    Keyword arguments change RoomsConfig settings (limits, grace periods).
    """
    started: list[ServerThread] = []

    def start(**settings: Any) -> ServerThread:
        port, ping_port = free_port(), free_port()
        config = make_config(rooms_data, port, ping_port).with_(**settings)
        server = ServerThread(config, port, ping_port)
        started.append(server.start())
        return server

    yield start
    for server in started:
        if server.loop.is_running():
            server.stop()


@pytest.fixture
def server(start_server: Any) -> ServerThread:
    return start_server()


def host_token(identity: str = "alice", **kwargs: Any) -> str:
    return issue_token(
        SECRET, identity, name=kwargs.pop("name", "Alice"), grants=["host"], **kwargs
    )


def listen_token(identity: str = "bob", **kwargs: Any) -> str:
    return issue_token(SECRET, identity, name="Bob", grants=["listen"], **kwargs)


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run client code on a fresh loop in the test's own thread."""
    return asyncio.run(coro)
