"""Hosts open rooms on a real room server from the portal, share them and go in."""

from __future__ import annotations

import json
import urllib.request
from urllib.parse import unquote, urlsplit

import jwt
import pytest
from sqlalchemy import select

from core.catalog.models import HostedRoom
from portal.hosting.roomserver import HostingRefused, host_token
from rooms.tokens import verify_token
from tests.portal.hosting.conftest import SECRET, sign_in


def _status(server, room_id: str) -> dict:
    with urllib.request.urlopen(f"{server.url}/api/rooms/{room_id}", timeout=5) as response:
        return json.loads(response.read())


def _rooms(services) -> list[HostedRoom]:
    with services.catalog.sessions() as session:
        return list(session.scalars(select(HostedRoom)))


def test_host_pages_need_a_host_account(client, make_user) -> None:
    assert client.get("/host/").status_code == 302  # to sign in
    sign_in(client, make_user())
    assert client.get("/host/").status_code == 403


def test_a_protected_account_never_gets_a_host_grant(client, make_user, config) -> None:
    user = make_user(is_host=True, protected=True)
    token = sign_in(client, user)
    response = client.post("/host/rooms", data={"csrf_token": token, "title": "Mine"})
    assert response.status_code == 403
    with pytest.raises(HostingRefused, match="protected"):
        host_token(config, user)


def test_host_opens_a_room_and_gets_its_share_link(
    client, make_user, rooms_server, services
) -> None:
    user = make_user(is_host=True, display_name="Ann <Host>")
    token = sign_in(client, user)
    form = {"csrf_token": token, "title": "Jazz <night>", "topics": "jazz, #Music", "lang": "en"}
    response = client.post("/host/rooms", data=form)
    assert response.status_code == 302
    [room] = _rooms(services)
    status = _status(rooms_server, room.room_id)
    assert status["title"] == "Jazz <night>"
    # People see the chosen handle; the room server still knows the host as user-<id>.
    assert status["host"]["name"] == "Ann <Host>"
    assert status["host"]["handle"] == user.handle == "ann_host"
    assert room.share_url == status["share_url"]
    page = client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert status["share_url"] in text and "Jazz &lt;night&gt;" in text
    assert "data-share" in text and "data-copy" in text
    # Going in mints a short-lived host token for this room only, in the fragment.
    go = client.get(f"/host/rooms/{room.id}/go")
    assert go.status_code == 302
    target = urlsplit(go.headers["Location"])
    assert target.path == f"/s/{room.room_id}"
    claims = verify_token(
        SECRET, unquote(target.fragment.removeprefix("token=")), room_id=room.room_id, need="host"
    )
    assert claims.identity == f"user-{user.id}"
    assert claims.room == room.room_id
    raw = jwt.decode(
        unquote(target.fragment.removeprefix("token=")), options={"verify_signature": False}
    )
    assert raw["handle"] == "ann_host"
    assert raw["profile"] == "http://portal.test/hosts/ann_host"


def test_a_scheduled_room(client, make_user, rooms_server, services) -> None:
    token = sign_in(client, make_user(is_host=True))
    form = {"csrf_token": token, "title": "Later", "when": "later", "start": "2099-01-31T18:00"}
    assert client.post("/host/rooms", data=form).status_code == 302
    [room] = _rooms(services)
    assert _status(rooms_server, room.room_id)["scheduled_start"].startswith("2099-01-31T18:00")
    assert "starts Sat 31 Jan, 18:00 UTC" in client.get(f"/host/rooms/{room.id}").get_data(
        as_text=True
    )


def test_a_room_scheduled_in_the_hosts_time_zone_starts_at_that_utc_time(
    client, make_user, rooms_server, services
) -> None:
    token = sign_in(client, make_user(is_host=True))
    form = {
        "csrf_token": token,
        "title": "Evening in Tokyo",
        "when": "later",
        "start": "2099-07-01T20:30",
        "tz": "Asia/Tokyo",
    }
    assert client.post("/host/rooms", data=form).status_code == 302
    [room] = _rooms(services)
    assert _status(rooms_server, room.room_id)["scheduled_start"].startswith("2099-07-01T11:30")
    assert room.scheduled_start.isoformat().startswith("2099-07-01T11:30")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"start": "2099-01-01T10:00", "tz": "Mars/Olympus"}, "room-start", "Unknown time zone"),
        ({"start": "2099-01-01T10:00", "tz": "../../etc/passwd"}, "room-start", "Unknown time"),
        ({"start": "2001-01-01T10:00", "tz": "Europe/Paris"}, "room-start", "has passed"),
        ({"start": "next tuesday"}, "room-start", "date and time"),
    ],
)
def test_bad_schedules_are_refused_beside_the_field(
    client, make_user, services, fields, field, message
) -> None:
    token = sign_in(client, make_user(is_host=True))
    form = {"csrf_token": token, "title": "Kept", "when": "later", **fields}
    response = client.post("/host/rooms", data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert f'id="{field}-error"' in text and message in text
    assert f'aria-describedby="{field}-error"' in text and "autofocus" in text
    assert 'value="Kept"' in text
    assert _rooms(services) == []


def test_a_dead_room_server_keeps_the_form(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_host=True))
    form = {"csrf_token": token, "title": "Kept title", "description": "Kept words"}
    response = client.post("/host/rooms", data=form)
    text = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "did not answer" in text and "Nothing was lost" in text
    assert 'value="Kept title"' in text and "Kept words" in text
    assert _rooms(services) == []


def test_a_language_off_the_list_never_reaches_the_room_server(
    client, make_user, rooms_server, services
) -> None:
    token = sign_in(client, make_user(is_host=True))
    response = client.post(
        "/host/rooms", data={"csrf_token": token, "title": "Bad", "lang": "not a language!"}
    )
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Pick the space&#39;s language from the list." in text
    assert 'id="room-lang-error"' in text and "room server refused" not in text
    assert _rooms(services) == []


def test_the_language_list_is_offered_and_a_listed_language_is_used(
    client, make_user, rooms_server, services
) -> None:
    token = sign_in(client, make_user(is_host=True))
    page = client.get("/host/").get_data(as_text=True)
    assert '<select id="room-lang" name="lang"' in page
    assert '<option value="pt"' in page and '<option value="ja"' in page
    client.post("/host/rooms", data={"csrf_token": token, "title": "Olá", "lang": "pt"})
    [room] = _rooms(services)
    assert _status(rooms_server, room.room_id)["lang"] == "pt"


def test_forms_need_the_csrf_token(client, make_user) -> None:
    sign_in(client, make_user(is_host=True))
    assert client.post("/host/rooms", data={"title": "x"}).status_code == 400


def test_no_recording_before_the_room_has_one(client, make_user, rooms_server, services) -> None:
    token = sign_in(client, make_user(is_host=True))
    client.post("/host/rooms", data={"csrf_token": token, "title": "Rec"})
    [room] = _rooms(services)
    dashboard = client.get("/host/").get_data(as_text=True)
    assert "The recording will be ready when the space ends." in dashboard
    assert f"/host/rooms/{room.id}/recording" not in dashboard and ">Recording<" not in dashboard
    # An old link to the download is no dead end: back to the room, saying why.
    response = client.get(f"/host/rooms/{room.id}/recording")
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The recording will be ready when the space ends." in page
    assert "Something went wrong" not in page


def test_other_hosts_rooms_are_not_yours(client, make_user, rooms_server, services) -> None:
    token = sign_in(client, make_user(is_host=True))
    client.post("/host/rooms", data={"csrf_token": token, "title": "Mine"})
    [room] = _rooms(services)
    sign_in(client, make_user(is_host=True))
    assert client.get(f"/host/rooms/{room.id}").status_code == 404
    assert client.get(f"/host/rooms/{room.id}/go").status_code == 404
