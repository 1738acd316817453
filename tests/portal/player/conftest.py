"""A live room with a host playing a tone, and the portal on loopback that lists it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.config import Config
from core.services import Services
from portal.app import create_app
from rooms.client import create_room, join_host
from tests.browser import serve
from tests.conftest import make_services
from tests.rooms.conftest import SECRET, ServerThread, host_token, make_config
from tests.support import free_port


@dataclass
class Stack:
    """The portal's address, the room server, and a way to open live spaces on both."""

    portal: str
    rooms: ServerThread
    open_space: Callable[..., int]
    services: Services


@pytest.fixture
def stack(data_dir: Path, sqlite_url: str) -> Iterator[Stack]:
    rooms_port, ping_port = free_port(), free_port()
    config = Config(
        data_dir=data_dir,
        database_url=sqlite_url,
        secret_key="test-secret",
        rooms_secret=SECRET,
        rooms_url=f"http://127.0.0.1:{rooms_port}",
        testing=True,
    )
    with ExitStack() as cleanup:
        services: Services = make_services(config)
        cleanup.callback(services.close)
        portal = cleanup.enter_context(serve(create_app(config, services)))
        # The player only takes commands from the configured portal origin: this one.
        rooms_config = make_config(data_dir / "rooms", rooms_port, ping_port).with_(
            portal_url=portal
        )
        rooms = ServerThread(rooms_config, rooms_port, ping_port).start()
        cleanup.callback(rooms.stop)
        hosts: list[Any] = []

        @cleanup.callback
        def close_hosts() -> None:
            for host in hosts:
                rooms.call(host.close())

        def open_space(title: str, tone_hz: float = 440.0) -> int:
            """Open a room with a host sending a tone; list it in the catalog; return its id."""
            token = host_token()
            room = rooms.call(create_room(rooms.url, token, title=title))
            hosts.append(rooms.call(join_host(rooms.url, room["id"], token, tone_hz=tone_hz)))
            with services.catalog.session() as session:
                space = upsert_space(
                    session,
                    SpaceRecord(
                        url=f"{rooms.url}/s/{room['id']}",
                        platform="rooms",
                        title=title,
                        state=State.LIVE,
                        host_handle="alice",
                        host_name="Alice",
                        player_url=f"{rooms.url}/s/{room['id']}/embed",
                    ),
                )
                session.flush()
                return space.id

        yield Stack(portal, rooms, open_space, services)
