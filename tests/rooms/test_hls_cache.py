"""HLS behind the documented nginx cache: one fetch from the room server per segment."""

from __future__ import annotations

import asyncio
import io
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import av
import numpy as np
import pytest
from aiohttp import web

from rooms.client import create_room, join_host
from rooms.hls import MISSING_CACHE, PLAYLIST_CACHE, SEGMENT_CACHE
from tests.rooms import nginx
from tests.rooms.conftest import ServerThread, free_port, host_token, make_config, run

pytestmark = [
    pytest.mark.skipif(not nginx.installed(), reason="needs nginx (apt install nginx)"),
    pytest.mark.slow,
]

CLIENTS = 30
ROUNDS = 4
NEWEST = 3  # segments each client takes per round, like a player joining at the live edge


class CountingServer(ServerThread):
    """The room server, counting the HLS requests that reach it by file name and status."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.hits: Counter[tuple[str, int]] = Counter()

    @web.middleware
    async def _count(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        response = await handler(request)
        if request.path.startswith("/hls/"):
            self.hits[(request.path.rsplit("/", 1)[1], response.status)] += 1
        return response

    def build_app(self) -> web.Application:
        """Return the room server application, counting what reaches it."""
        app = super().build_app()
        app.middlewares.append(self._count)
        return app


class Fetched:
    """What the listeners got through the cache: bodies by name, cache statuses."""

    def __init__(self) -> None:
        self.bodies: dict[str, set[bytes]] = {}
        self.requests: Counter[str] = Counter()
        self.cache: Counter[str] = Counter()


def playlist_names(playlist: str) -> tuple[str, list[str]]:
    init = re.search(r'^#EXT-X-MAP:URI="([^"]+)"$', playlist, flags=re.M)
    assert init, playlist
    return init.group(1), re.findall(r"^([0-9a-f]{8}-seg\d+\.m4s)$", playlist, flags=re.M)


async def get(session: aiohttp.ClientSession, url: str, seen: Fetched) -> tuple[bytes, Any]:
    async with session.get(url) as resp:
        body = await resp.read()
        assert resp.status == 200, (url, resp.status)
        seen.cache[resp.headers.get("X-Cache-Status", "-")] += 1
        return body, resp.headers


async def listen(base: str, seen: Fetched) -> None:
    """Take the playlist and its newest segments, round after round, like a live player."""
    async with aiohttp.ClientSession() as session:
        for _ in range(ROUNDS):
            body, headers = await get(session, f"{base}/index.m3u8", seen)
            assert headers["Cache-Control"] == PLAYLIST_CACHE
            init, segments = playlist_names(body.decode())
            names = [init, *segments[-NEWEST:]]
            answers = await asyncio.gather(*(get(session, f"{base}/{n}", seen) for n in names))
            for name, (data, headers) in zip(names, answers, strict=True):
                assert headers["Cache-Control"] == SEGMENT_CACHE
                assert headers["Access-Control-Allow-Origin"] == "*"
                seen.bodies.setdefault(name, set()).add(data)
                seen.requests[name] += 1
            await asyncio.sleep(0.8)


async def wait_for_segments(url: str, count: int, timeout_s: float = 10.0) -> str:
    deadline = time.monotonic() + timeout_s
    async with aiohttp.ClientSession() as session:
        while True:
            async with session.get(url) as resp:
                text = await resp.text()
                if resp.status == 200 and len(playlist_names(text)[1]) >= count:
                    return text
            assert time.monotonic() < deadline, f"no HLS segments within {timeout_s} s"
            await asyncio.sleep(0.3)


def dominant_hz(init: bytes, segment: bytes) -> float:
    with av.open(io.BytesIO(init + segment)) as container:
        audio = np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])
    spectrum = np.abs(np.fft.rfft(audio[-24000:].astype(float)))
    return float(np.argmax(spectrum) * 48000 / 24000)


async def missing_is_cached_briefly(base: str, run: str, origin: CountingServer) -> None:
    """A crowd asking for a missing segment makes one origin fetch, and not for long."""
    name = f"{run}-seg999999.m4s"
    async with aiohttp.ClientSession() as session:

        async def ask() -> None:
            async with session.get(f"{base}/{name}") as resp:
                assert resp.status == 404
                assert resp.headers["Cache-Control"] == MISSING_CACHE

        await asyncio.gather(*(ask() for _ in range(CLIENTS)))
        assert origin.hits[(name, 404)] == 1
        deadline = time.monotonic() + 5.0
        while origin.hits[(name, 404)] < 2:
            assert time.monotonic() < deadline, "nginx kept the 404 for more than a few seconds"
            await asyncio.sleep(0.5)
            await ask()


def test_nginx_fetches_each_segment_once_for_thirty_listeners(tmp_path: Path) -> None:
    port, ping_port, proxy_port = free_port(), free_port(), free_port()
    origin = CountingServer(make_config(tmp_path / "var", port, ping_port), port, ping_port)
    site = nginx.fill_site(
        nginx.documented_site(),
        listen_port=proxy_port,
        origin_port=port,
        cache_dir=tmp_path / "nginx" / "cache",
    )
    proxy = nginx.Nginx(tmp_path / "nginx", site, proxy_port)
    seen = Fetched()

    async def scenario() -> float:
        token = host_token()
        # The JSON API and the WebSocket (signalling) both go through nginx too.
        room = await create_room(proxy.url, token, title="Cached")
        host = await join_host(proxy.url, room["id"], token, tone_hz=880.0)
        base = f"{proxy.url}/hls/{room['id']}"
        try:
            playlist = await wait_for_segments(f"{base}/index.m3u8", 2)
            started = time.monotonic()
            await asyncio.gather(*(listen(base, seen) for _ in range(CLIENTS)))
            elapsed = time.monotonic() - started
            await missing_is_cached_briefly(base, playlist_names(playlist)[0][:8], origin)
        finally:
            await host.close()
        return elapsed

    try:
        origin.start()
        proxy.start()
        elapsed = run(scenario())
    finally:
        proxy.stop()
        if origin.loop.is_running():
            origin.stop()
    assert proxy.proc is not None and proxy.proc.poll() is not None
    names = sorted(seen.requests)
    segments = [n for n in names if "-seg" in n]
    assert len(segments) >= ROUNDS, f"the playlist did not advance: {names}"
    for name in names:
        assert seen.requests[name] >= CLIENTS
        assert origin.hits[(name, 200)] == 1, (name, origin.hits[(name, 200)])
        assert len(seen.bodies[name]) == 1, f"{name}: listeners got different bytes"
    playlists = origin.hits[("index.m3u8", 200)] + origin.hits[("index.m3u8", 304)]
    assert playlists <= elapsed + 4, f"{playlists} playlist fetches from the room server"
    init = next(n for n in names if n.endswith("init.mp4"))
    assert (
        abs(dominant_hz(next(iter(seen.bodies[init])), seen.bodies[segments[-1]].pop()) - 880) < 5
    )
    assert "[emerg]" not in proxy.errors() and "[crit]" not in proxy.errors()
    print(
        f"\n{CLIENTS} listeners, {sum(seen.requests.values())} segment requests in "
        f"{elapsed:.1f} s: {len(names)} files, each fetched once from the room server; "
        f"{playlists} playlist fetches from it; nginx said {dict(seen.cache)}"
    )
