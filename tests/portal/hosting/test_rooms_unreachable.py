"""The host's pages answer at once, and say so, when the room server is down or hung.

"Hung" is a loopback port whose connections are taken (the kernel completes them) but
never answered; "down" is a port nothing listens on. Every call to the room server has
a short connect timeout and a deadline for its whole answer, so no page waits long.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from core.catalog.models import HostedRoom
from core.config import Config
from core.services import Services
from core.timeutil import utcnow
from portal.hosting.roomhttp import TOTAL_TIMEOUT_S
from portal.hosting.roomserver import STATUS_TIMEOUT_S
from tests.portal.hosting.conftest import MakeUser, sign_in
from tests.support import free_port

SLACK_S = 1.5  # for a loaded machine; the waits themselves are the timeouts


@pytest.fixture(scope="module")
def hung() -> Iterator[str]:
    """Listen on a loopback port and never accept: connections open, nothing answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(params=["hung", "down"])
def rooms_url(request: pytest.FixtureRequest, hung: str) -> str:
    return hung if request.param == "hung" else f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def config(config: Config, rooms_url: str) -> Config:
    return config.with_(rooms_url=rooms_url)


def _timed(call) -> tuple[float, object]:
    began = time.monotonic()
    result = call()
    return time.monotonic() - began, result


def _hosted_room(services: Services, user_id: int, rooms_url: str) -> int:
    with services.catalog.session() as session:
        room = HostedRoom(
            user_id=user_id,
            room_id="r1",
            rooms_url=rooms_url,
            share_url=f"{rooms_url}/s/r1",
            title="Evening talk",
            created_at=utcnow(),
        )
        session.add(room)
        session.flush()
        return room.id


def test_opening_a_room_says_the_room_server_did_not_answer(
    client: FlaskClient, make_user: MakeUser, rooms_url: str, hung: str
) -> None:
    token = sign_in(client, make_user(is_host=True))
    form = {"csrf_token": token, "title": "Kept title"}
    took, response = _timed(lambda: client.post("/host/rooms", data=form))
    text = response.get_data(as_text=True)
    print(f"{'hung' if rooms_url == hung else 'down'} room server: answered in {took:.2f} s")
    assert response.status_code == 503
    assert took < TOTAL_TIMEOUT_S + SLACK_S
    assert f"The room server at {rooms_url} did not answer" in text
    assert "try again in a minute" in text and 'value="Kept title"' in text
    if rooms_url == hung:
        assert "no answer within 5 s" in text
    else:
        assert "connection refused" in text and took < SLACK_S
    assert "Traceback" not in text


def test_the_dashboard_and_room_page_answer_and_the_download_says_why(
    client: FlaskClient, make_user: MakeUser, services: Services, rooms_url: str
) -> None:
    user = make_user(is_host=True)
    sign_in(client, user)
    room_pk = _hosted_room(services, user.id, rooms_url)
    note = "The room server did not answer; try again in a minute."
    took, dashboard = _timed(lambda: client.get("/host/"))
    assert dashboard.status_code == 200 and took < STATUS_TIMEOUT_S + SLACK_S
    assert note in dashboard.get_data(as_text=True)
    took, page = _timed(lambda: client.get(f"/host/rooms/{room_pk}"))
    assert page.status_code == 200 and took < STATUS_TIMEOUT_S + SLACK_S
    assert note in page.get_data(as_text=True)
    took, download = _timed(lambda: client.get(f"/host/rooms/{room_pk}/recording"))
    assert download.status_code == 302 and took < TOTAL_TIMEOUT_S + SLACK_S
    back = client.get(download.headers["Location"]).get_data(as_text=True)
    assert "did not answer" in back and "try again in a minute" in back
    assert "Traceback" not in back
