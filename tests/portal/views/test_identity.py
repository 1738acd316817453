"""Who you are goes with you: the player learns a signed-in person's name, and names link
to a page about the person."""

from __future__ import annotations

import re

import jwt
import pytest

from core.catalog.models import User
from core.config import Config
from tests.portal.accounts.helpers import make_user, sign_in
from tests.portal.views.conftest import ROOMS
from tests.rooms.conftest import SECRET


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(rooms_secret=SECRET)


def _name(services, user_id: int, display_name: str, handle: str) -> None:
    with services.catalog.session() as session:
        user = session.get(User, user_id)
        user.display_name, user.handle = display_name, handle


def test_a_signed_in_listener_joins_under_their_own_name(client, services, make_space) -> None:
    space_id = make_space(title="Open mic", player_url=f"{ROOMS}/s/r1/embed")
    anonymous = client.get(f"/spaces/{space_id}").get_data(as_text=True)
    assert f'data-src="{ROOMS}/s/r1/embed"' in anonymous  # a guest: no token at all

    _name(services, make_user(services, "nia@example.org"), "Nia Long", "nia")
    sign_in(client, "nia@example.org")
    html = client.get(f"/spaces/{space_id}").get_data(as_text=True)
    found = re.search(rf'data-src="{re.escape(ROOMS)}/s/r1/embed#token=([^"]+)"', html)
    assert found, "the player's address carries no token for a signed-in person"
    assert "no-store" in client.get(f"/spaces/{space_id}").headers["Cache-Control"]
    claims = jwt.decode(found.group(1), SECRET, algorithms=["HS256"], audience="spaces-rooms")
    assert claims["name"] == "Nia Long" and claims["handle"] == "nia"
    assert claims["grants"] == ["listen"]
    assert claims["profile"] == "http://portal.test/hosts/nia"
    # The token is only ever in the fragment: the noscript player stays anonymous.
    assert f'<iframe src="{ROOMS}/s/r1/embed" ' in html


def test_a_person_who_has_not_hosted_has_a_page(client, services) -> None:
    _name(services, make_user(services, "sam@example.org"), "Sam", "sam_k")
    html = client.get("/hosts/sam_k").get_data(as_text=True)
    assert "<h1>Sam</h1>" in html and "@sam_k" in html
    assert "Sam has not hosted a space yet." in html
    assert client.get("/hosts/nobody_here").status_code == 404
