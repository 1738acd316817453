"""Helpers for tests that need accounts: make users, sign in, read CSRF tokens."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from core.services import Services
from portal.accounts.users import create_user

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(services: Services, email: str, *, host: bool = False, admin: bool = False) -> int:
    """Create an account through the accounts module; return its id."""
    with services.catalog.session() as session:
        return create_user(session, email, PASSWORD, is_host=host, is_admin=admin).id


def token_of(response: TestResponse) -> str:
    """Return the CSRF token a rendered page carries."""
    found = _TOKEN.search(response.get_data(as_text=True))
    assert found, "the page has no CSRF token"
    return found.group(1)


def csrf(client: FlaskClient) -> str:
    """Return the client session's current CSRF token."""
    return token_of(client.get("/account/signin"))


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> TestResponse:
    """Sign in through the real form."""
    return client.post(
        "/account/signin",
        data={"csrf_token": csrf(client), "email": email, "password": password},
    )
