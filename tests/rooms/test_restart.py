"""Rooms outlive a room-server restart; a long outage or a crash ends them, announced."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

from rooms.client import RoomConnection, create_room, end_room, join_host
from rooms.hub import HUB
from rooms.sources import LoopTrack, tone
from rooms.store import LIVE, RoomStore
from tests.rooms.conftest import ServerThread, free_port, host_token, make_config, run
from tests.rooms.test_speaking import approved_speaker, fresh_audio, level, until

BEFORE_HZ, AFTER_HZ = 1000.0, 660.0


async def _status(server: ServerThread, room_id: str) -> dict[str, Any]:
    hub = server.app[HUB]
    return hub.status(hub.store.get(room_id))


def _server_on(data: Path, port: int) -> ServerThread:
    return ServerThread(make_config(data, port, free_port()), port, free_port()).start()


async def _pinged(server: Any, url: str, timeout: float = 5.0) -> None:
    await until(lambda: {"url": url} in server.pings, timeout)


class Portal(ThreadingHTTPServer):
    """A stand-in portal on loopback, up before the room server: it notes every ping."""

    pings: list[dict[str, Any]]


class _PingHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        assert self.path == "/api/v1/ping"
        self.server.pings.append(json.loads(body))  # type: ignore[attr-defined]
        self.send_response(202)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


@pytest.fixture
def portal() -> Iterator[Portal]:
    server = Portal(("127.0.0.1", 0), _PingHandler)
    server.pings = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


async def _recording(url: str) -> np.ndarray:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200, await resp.text()
        data = await resp.read()
    with av.open(io.BytesIO(data)) as container:
        return np.concatenate([f.to_ndarray()[0] for f in container.decode(audio=0)])


async def _heard(conn: RoomConnection, hz: float) -> float:
    """Wait until `conn` hears `hz`; return how long that took."""
    started = time.monotonic()
    await until(lambda: len(conn.audio()) > 24000 and level(conn.audio()[-24000:], hz) > 0.3, 15)
    return time.monotonic() - started


def test_a_restart_resumes_the_room_its_roles_and_its_recording(rooms_data: Path) -> None:
    port = free_port()
    servers = [_server_on(rooms_data, port)]

    async def scenario() -> None:
        host, guest, audience = await approved_speaker(servers[0])
        room_id = host.room["id"]
        try:
            await host.mute(True)  # only the guest's tones, before and after
            await guest.talk(LoopTrack(tone(BEFORE_HZ, 1.0)))
            assert level(await fresh_audio(audience, 1.5), BEFORE_HZ) > 0.3

            await asyncio.to_thread(servers[0].stop)
            await asyncio.wait_for(audience.closed.wait(), 5)
            assert RoomStore(rooms_data / "rooms").get(room_id).state == LIVE
            assert not audience.ended.is_set()  # a restart, not an end
            servers.append(await asyncio.to_thread(_server_on, rooms_data, port))
            status = await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(_status(servers[1], room_id), servers[1].loop)
            )
            assert status["state"] == "live" and status["title"] == "Stage"

            host_s = await host.reconnect()
            speaker_s = await guest.reconnect(LoopTrack(tone(AFTER_HZ, 1.0)))
            audience.frames.clear()
            listener_s = await audience.reconnect()
            first_audio = time.monotonic()
            await until(lambda: len(audience.audio()) > 0, 10)
            first_audio = time.monotonic() - first_audio
            assert host.role == "host" and guest.role == "speaker" and guest.muted
            await guest.mute(False)
            heard_s = await _heard(audience, AFTER_HZ)
            print(
                f"\nafter restart: join→joined host {host_s * 1000:.0f} ms, speaker "
                f"{speaker_s * 1000:.0f} ms, listener {listener_s * 1000:.0f} ms; listener "
                f"joined→first audio {first_audio:.2f} s; unmute→speaker heard {heard_s:.2f} s"
            )
            await asyncio.sleep(1.0)
        finally:
            for peer in (audience, guest, host):
                await peer.close()
        await end_room(servers[1].url, room_id, host_token())
        audio = await _recording(f"{servers[1].url}/api/rooms/{room_id}/recording")
        # Before the restart the guest's first tone, after it the second: both kept.
        windows = [audio[i : i + 24000] for i in range(0, len(audio) - 24000, 24000)]
        loudest = max(w.std() for w in windows)
        windows = [w if w.std() > loudest / 20 else 0 * w for w in windows]  # silence: neither
        before = [i for i, w in enumerate(windows) if level(w, BEFORE_HZ) > 0.3]
        after = [i for i, w in enumerate(windows) if level(w, AFTER_HZ) > 0.3]
        # (One half-second may hold the end of the first segment and the start of the next.)
        assert before and after and max(before) <= min(after) < max(after), (before, after)
        assert not list((rooms_data / "recordings" / room_id).glob("part-*"))

    try:
        run(scenario())
    finally:
        for server in servers:
            if server.loop.is_running():
                server.stop()


def test_rooms_of_a_long_outage_are_ended_at_start_and_announced(
    start_server: Any, portal: Portal
) -> None:
    first = start_server()
    room = run(create_room(first.url, host_token(), title="Crashed"))
    first.stop()
    store = RoomStore(first.config.rooms_dir)
    stopped = time.time() - 600  # down ten minutes, past the 120 s grace period
    store.beat(stopped)
    second = start_server(portal_url=f"http://127.0.0.1:{portal.server_address[1]}")
    status = second.call(_status(second, room["id"]))
    assert status["state"] == "ended"
    assert status["ended_at"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stopped))
    # Announced at once, under the address the room server now has.
    share_url = f"{second.url}/s/{room['id']}"
    run(_pinged(portal, share_url))
    assert portal.pings == [{"url": share_url}]
    assert RoomStore(first.config.rooms_dir).get(room["id"]).state == "ended"


def test_a_resumed_room_whose_host_does_not_return_ends_after_the_grace(
    start_server: Any,
) -> None:
    first = start_server(host_grace_s=1.5)
    token = host_token()

    async def hosted() -> dict[str, Any]:
        room = await create_room(first.url, token, title="Brief")
        host = await join_host(first.url, room["id"], token, unmute=False)
        await host.close()
        return room

    room = run(hosted())
    first.stop()
    second = start_server(host_grace_s=1.5)
    assert second.call(_status(second, room["id"]))["state"] == "live"
    run(_pinged(second, f"{second.url}/s/{room['id']}", timeout=6.0))
    assert second.call(_status(second, room["id"]))["state"] == "ended"


def test_a_room_whose_mixer_dies_is_ended_and_announced(server: ServerThread) -> None:
    room = run(create_room(server.url, host_token(), title="Fragile"))

    class Broken(BaseException):
        """Not an Exception: nothing in the mixing loop may swallow it."""

    def broken(_mix: np.ndarray) -> None:
        raise Broken("the sound card caught fire")

    async def break_mixer() -> None:
        server.app[HUB].live[room["id"]].mixer.pcm_sinks.append(broken)

    run(until(lambda: len(server.pings) == 1, 5))  # it opened
    server.call(break_mixer())
    run(until(lambda: len(server.pings) == 2, 5))  # and it ended, announced at once
    assert server.pings[1] == {"url": room["share_url"]}
    assert server.call(_status(server, room["id"]))["state"] == "ended"


def test_damaged_state_file_does_not_stop_the_server(rooms_data: Path) -> None:
    folder = rooms_data / "rooms"
    folder.mkdir(parents=True)
    (folder / "rooms.json").write_text("{broken")
    store = RoomStore(folder)
    assert store.rooms == {} and (folder / "rooms.damaged").exists()
