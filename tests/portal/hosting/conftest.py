"""Fixtures for host and admin tests: accounts, a signed-in client, a real room server."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from core.catalog import auth_sessions
from core.catalog.models import User
from core.config import Config
from core.services import Services
from core.timeutil import utcnow
from portal.accounts.session import SESSION_KEY
from portal.accounts.users import create_user
from portal.context import EXTENSION
from tests.browser import serve
from tests.portal.accounts.helpers import PASSWORD
from tests.portal.views.conftest import make_space, now
from tests.rooms.conftest import SECRET, ServerThread, make_config
from tests.support import free_port

__all__ = ["make_space", "now"]

MakeUser = Callable[..., User]


@pytest.fixture
def rooms_server(tmp_path: Path) -> Iterator[ServerThread]:
    """Run a real room server on a free loopback port, in-process."""
    port, ping_port = free_port(), free_port()
    server = ServerThread(make_config(tmp_path / "rooms", port, ping_port), port, ping_port)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def config(config: Config, request: pytest.FixtureRequest) -> Config:
    rooms_url = "http://127.0.0.1:9"  # nothing listens on the discard port: a dead server
    if "rooms_server" in request.fixturenames:
        rooms_url = request.getfixturevalue("rooms_server").url
    return config.with_(rooms_url=rooms_url, rooms_secret=SECRET, portal_url="http://portal.test")


@pytest.fixture
def make_user(services: Services) -> MakeUser:
    """Create an account with the given roles; return it."""
    counter = iter(range(1, 10_000))

    def make(**roles: Any) -> User:
        n = next(counter)
        with services.catalog.session() as session:
            return create_user(
                session,
                roles.pop("email", f"user{n}@example.org"),
                PASSWORD,
                display_name=roles.pop("display_name", f"User {n}"),
                **roles,
            )

    return make


@pytest.fixture
def base_url(app) -> Iterator[str]:
    """Serve the portal on a free loopback port for a real browser."""
    with serve(app) as url:
        yield url


def browser_sign_in(page: Any, base_url: str, user: User, next_path: str) -> None:
    """Sign in through the real form, then land on `next_path`."""
    page.goto(f"{base_url}/account/signin?next={quote(next_path)}")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("form.form button[type=submit]")
    page.wait_for_url(f"{base_url}{next_path}")


def sign_in(client: FlaskClient, user: User) -> str:
    """Sign `user` in on `client` and return the session's CSRF token."""
    services: Services = client.application.extensions[EXTENSION]
    with services.catalog.session() as db:
        token = auth_sessions.start(db, user.id, user_agent="", address="", now=utcnow())
    with client.session_transaction() as session:
        session[SESSION_KEY] = token
        session["_csrf"] = token = f"csrf-{user.id}"
    return token
