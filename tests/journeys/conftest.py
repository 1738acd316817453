"""The whole product on loopback, as people meet it: the portal, the room server, Chromium.

A journey test opens pages and presses buttons as a person would, and checks what that
person would perceive: audio energy in their player, a name on the host's screen, a
badge that changes by itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from core.catalog.models import User
from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.config import Config
from core.services import Services
from portal.app import create_app
from portal.hosting import roomserver
from rooms.client import create_room
from tests.browser import launch_chromium, serve, wait_for_swap
from tests.conftest import make_services
from tests.portal.accounts.helpers import PASSWORD, make_user
from tests.rooms.conftest import SECRET, ServerThread, make_config
from tests.support import free_port


@dataclass
class World:
    """The portal and room server on loopback, their services, and a shared browser."""

    portal: str
    rooms: ServerThread
    services: Services
    config: Config
    browser: Any
    _contexts: list[Any] = field(default_factory=list)

    def person(self, email: str, name: str, handle: str, *, host: bool = False) -> User:
        """Create an account with this display name and handle; return it (detached)."""
        user_id = make_user(self.services, email, host=host)
        with self.services.catalog.session() as session:
            user = session.get(User, user_id)
            assert user is not None
            user.display_name = name
            user.handle = handle
            session.flush()
            session.expunge(user)
            return user

    def open_room(self, host: User, title: str) -> tuple[str, int]:
        """Open a live room for `host` as the portal would, list it; return (room id, space id)."""
        token = roomserver.host_token(self.config, host)
        room = self.rooms.call(create_room(self.rooms.url, token, title=title))
        with self.services.catalog.session() as session:
            space = upsert_space(
                session,
                SpaceRecord(
                    url=f"{self.rooms.url}/s/{room['id']}",
                    platform="rooms",
                    title=title,
                    state=State.LIVE,
                    host_handle=room["host"]["handle"],
                    host_name=room["host"]["name"],
                    player_url=f"{self.rooms.url}/s/{room['id']}/embed",
                ),
            )
            session.flush()
            return room["id"], space.id

    def host_page(self, host: User, room_id: str, **options: Any) -> Any:
        """The host's own browser tab on the room page, holding a host token."""
        token = roomserver.host_token(self.config, host)
        page = self.page(**options)
        page.goto(f"{self.rooms.url}/s/{room_id}#token={token}")
        return page

    def page(self, **options: Any) -> Any:
        """A new tab in a browser profile of its own (its own cookies and storage)."""
        context = self.browser.new_context(**options)
        self._contexts.append(context)
        page = context.new_page()
        watch_errors(page)
        return page

    def sign_up(self, page: Any, name: str, handle: str, email: str) -> None:
        """Create an account through the portal's sign-up form, as a new person would."""
        page.goto(f"{self.portal}/account/signup")
        page.get_by_label("Your name").fill(name)
        page.get_by_label("Handle").fill(handle)
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password", exact=False).first.fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{self.portal}/")
        wait_for_swap(page)

    def sign_in(self, page: Any, email: str) -> None:
        """Sign in through the portal's form, as the person would."""
        page.goto(f"{self.portal}/account/signin")
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{self.portal}/")
        wait_for_swap(page)


def watch_errors(page: Any) -> list[str]:
    """Collect the page's script errors on page.problems (a journey ends with none)."""
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems
    return problems


@pytest.fixture
def world(data_dir: Path, sqlite_url: str) -> Iterator[World]:
    portal_port, rooms_port, ping_port = free_port(), free_port(), free_port()
    portal_url = f"http://127.0.0.1:{portal_port}"
    config = Config(
        data_dir=data_dir,
        database_url=sqlite_url,
        secret_key="journey-secret",
        rooms_secret=SECRET,
        rooms_url=f"http://127.0.0.1:{rooms_port}",
        portal_url=portal_url,
        testing=True,
    )
    with ExitStack() as cleanup:
        services = make_services(config)
        cleanup.callback(services.close)
        cleanup.enter_context(serve(create_app(config, services), port=portal_port))
        rooms_config = make_config(data_dir / "rooms", rooms_port, ping_port).with_(
            portal_url=portal_url
        )
        rooms = ServerThread(rooms_config, rooms_port, ping_port).start()
        cleanup.callback(rooms.stop)
        browser = cleanup.enter_context(launch_chromium())
        yield World(portal_url, rooms, services, config, browser)
