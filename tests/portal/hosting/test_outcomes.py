"""A promoted link shows what its crawl found; a room shows its recording once it has one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.catalog.hosting import record_submission_outcome
from core.catalog.models import HostedRoom, Submission
from tests.portal.hosting.conftest import sign_in
from tests.worker.conftest import StatusServer, room

URL = "https://x.com/i/spaces/1ZkJzbdvLgRJv"


def _promote(client, token: str, url: str = URL) -> int:
    response = client.post("/host/submissions", data={"csrf_token": token, "url": url})
    assert response.status_code == 302
    submission_id = int(response.headers["Location"].rsplit("#submission-", 1)[1])
    return submission_id


def _settle(services, url: str = URL, **outcome) -> None:
    with services.catalog.session() as session:
        record_submission_outcome(session, url, **outcome)


def test_a_promoted_link_says_it_is_being_checked_then_what_was_found(
    client, make_user, make_space, services
) -> None:
    token = sign_in(client, make_user(is_host=True))
    submission_id = _promote(client, token)
    status = client.get(f"/host/submissions/{submission_id}").get_json()
    assert (status["state"], status["settled"], status["text"]) == (
        "pending",
        False,
        "Checking this link…",
    )
    page = client.get("/host/").get_data(as_text=True)
    assert f'data-status-url="/host/submissions/{submission_id}"' in page
    assert "will appear within seconds" not in page

    space_id = make_space(url=URL, title="Night <talk>")
    _settle(services, found=[URL])
    status = client.get(f"/host/submissions/{submission_id}").get_json()
    assert (status["state"], status["settled"], status["text"]) == ("found", True, "Found 1 space")
    assert status["spaces"] == [
        {"id": space_id, "title": "Night <talk>", "url": f"/spaces/{space_id}"}
    ]
    page = client.get("/host/").get_data(as_text=True)
    assert "Found 1 space" in page and f'href="/spaces/{space_id}">Night &lt;talk&gt;</a>' in page
    assert "data-status-url" not in page


@pytest.mark.parametrize(
    ("outcome", "text"),
    [
        ({"found": []}, "Found nothing at this address"),
        ({"found": [], "reason": "robots.txt forbids crawling it"}, "Refused: robots.txt forbids"),
    ],
)
def test_nothing_found_and_refusals_are_said(client, make_user, services, outcome, text) -> None:
    token = sign_in(client, make_user(is_host=True))
    submission_id = _promote(client, token)
    _settle(services, **outcome)
    status = client.get(f"/host/submissions/{submission_id}").get_json()
    assert status["settled"] and status["text"].startswith(text)


def test_a_link_left_queued_says_the_crawler_is_behind(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_host=True))
    submission_id = _promote(client, token)
    with services.catalog.session() as session:
        row = session.get(Submission, submission_id)
        row.created_at -= timedelta(minutes=5)
    status = client.get(f"/host/submissions/{submission_id}").get_json()
    assert status["state"] == "behind" and "crawler is behind" in status["text"]


def test_other_hosts_links_are_not_yours(client, make_user) -> None:
    token = sign_in(client, make_user(is_host=True))
    submission_id = _promote(client, token)
    sign_in(client, make_user(is_host=True))
    assert client.get(f"/host/submissions/{submission_id}").status_code == 404
    assert client.get("/host/submissions/999999").status_code == 404


def test_a_refused_link_is_shown_beside_the_field(client, make_user) -> None:
    token = sign_in(client, make_user(is_host=True))
    response = client.post("/host/submissions", data={"csrf_token": token, "url": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p id="submit-url-error" class="field-error">The link must be' in html
    assert 'aria-describedby="submit-url-error" autofocus' in html and 'value="nope"' in html
    assert html.count("autofocus") == 1


def test_a_failed_claim_is_shown_beside_the_field_keeping_the_text(client, make_user) -> None:
    token = sign_in(client, make_user(is_host=True))
    response = client.post(
        "/host/claims", data={"csrf_token": token, "handle": "@nobody", "message": "It is me"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p id="claim-handle-error" class="field-error">No host @nobody' in html
    assert 'value="@nobody"' in html and ">It is me</textarea>" in html
    assert 'aria-describedby="claim-handle-error" autofocus' in html


@pytest.fixture
def recordings() -> Iterator[StatusServer]:
    server = StatusServer("127.0.0.1").start()
    yield server
    server.stop()


def test_the_recording_link_appears_once_there_is_a_recording(
    client, make_user, services, recordings
) -> None:
    user = make_user(is_host=True)
    sign_in(client, user)
    with services.catalog.session() as session:
        session.add(
            HostedRoom(
                user_id=user.id,
                room_id="rec1",
                rooms_url=recordings.base,
                share_url=f"{recordings.base}/s/rec1",
                title="Taped",
            )
        )
    recordings.rooms["rec1"] = room("rec1", "live", recording_url="", transcript_url="")
    page = client.get("/host/").get_data(as_text=True)
    assert "The recording will be ready when the space ends." in page
    assert ">Recording</a>" not in page

    recordings.rooms["rec1"] = room(
        "rec1",
        "ended",
        recording_url="/api/rooms/rec1/recording",
        transcript_url="/api/rooms/rec1/transcript",
    )
    page = client.get("/host/").get_data(as_text=True)
    assert f'href="{recordings.base}/api/rooms/rec1/recording" rel="noopener">Recording</a>' in page
    assert f'href="{recordings.base}/api/rooms/rec1/transcript"' in page
    assert "will be ready" not in page
    with services.catalog.sessions() as session:
        pk = session.scalars(select(HostedRoom.id)).one()
    room_page = client.get(f"/host/rooms/{pk}").get_data(as_text=True)
    assert "Download the recording" in room_page
