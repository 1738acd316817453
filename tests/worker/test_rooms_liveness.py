"""Liveness checks against the project's own room server, run for real on loopback."""

import asyncio
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web

from core.catalog.models import Space
from core.services import Services
from tests.worker.conftest import add_space
from worker.liveness_jobs import check_spaces

rooms_app = pytest.importorskip("rooms.app", reason="the room server (rooms.app) is not built yet")
from rooms.client import create_room, end_room  # noqa: E402
from rooms.config import RoomsConfig  # noqa: E402
from rooms.tokens import issue_token  # noqa: E402

SECRET = "rooms-test-secret-long-enough-for-hs256"


class RoomServer:
    """The real room server application, served on 127.0.0.1 from a background thread."""

    def __init__(self, data_dir) -> None:
        self.data_dir = data_dir
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def _start(self) -> None:
        # The portal it pings is not running: pings fail quietly, as they should.
        config = RoomsConfig(data_dir=self.data_dir, secret=SECRET, portal_url="http://127.0.0.1:9")
        self.runner = web.AppRunner(rooms_app.create_app(config), access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = self.runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"

    def run(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> "RoomServer":
        self.thread.start()
        self.run(self._start())
        return self

    def stop(self) -> None:
        if self.runner is not None:
            self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def room_server(tmp_path) -> Iterator[RoomServer]:
    server = RoomServer(tmp_path / "rooms-data").start()
    yield server
    server.stop()


def state_of(services: Services, space_id: int) -> tuple[str, int, int]:
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        return space.state, space.speaker_count, space.check_failures


def test_room_server_status_and_page_follow_a_room_from_live_to_ended(
    worker_services: Services, room_server: RoomServer
) -> None:
    token = issue_token(SECRET, "ella", name="Ella", grants=["host"])
    status = room_server.run(create_room(room_server.base, token, title="Morning jazz"))
    assert status["state"] == "live"
    room_id = status["id"]
    by_status = add_space(
        worker_services,
        status["share_url"],
        status_url=f"{room_server.base}/api/rooms/{room_id}",
    )
    # The same room known only by its page: checked by re-reading the page's metadata.
    by_page = add_space(worker_services, f"{room_server.base}/s/{room_id}", platform="web")

    assert check_spaces([by_status, by_page])["failed"] == 0
    assert state_of(worker_services, by_status) == ("live", 0, 0)
    assert state_of(worker_services, by_page)[0] == "live"

    room_server.run(end_room(room_server.base, room_id, token))
    assert check_spaces([by_status, by_page])["changed"] == 2
    assert state_of(worker_services, by_status)[0] == "ended"
    assert state_of(worker_services, by_page)[0] == "ended"


def test_unknown_room_is_gone(worker_services: Services, room_server: RoomServer) -> None:
    space_id = add_space(
        worker_services,
        "http://rooms.test/s/nope",
        status_url=f"{room_server.base}/api/rooms/nope",
    )
    check_spaces([space_id])
    assert state_of(worker_services, space_id)[0] == "gone"
