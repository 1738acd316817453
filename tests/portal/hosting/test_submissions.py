"""Hosts promote space links: POST /api/v1/submissions and the dashboard form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.catalog.models import HostClaim, SpaceCheck, Submission
from core.config import Config
from tests.portal.hosting.conftest import sign_in

URL = "https://x.com/i/spaces/1ZkJzbdvLgRJv"


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(extra={"submission_rate_limit": 3, "submission_rate_window_s": 60})


def _post(client, token: str | None, body) -> object:
    headers = {"X-CSRF-Token": token} if token else {}
    return client.post("/api/v1/submissions", json=body, headers=headers)


def test_a_host_submission_is_crawled_at_once_and_recorded(client, make_user, services) -> None:
    from core.queues import CRAWL_NOW, queue

    user = make_user(is_host=True)
    token = sign_in(client, user)
    response = _post(client, token, {"url": URL})
    assert response.status_code == 202
    assert response.get_json()["url"] == URL
    assert [job.args for job in queue(services, CRAWL_NOW).get_jobs()] == [(URL,)]
    with services.catalog.sessions() as session:
        [row] = session.scalars(select(Submission)).all()
    assert (row.user_id, row.url, row.status) == (user.id, URL, "queued")


def test_submissions_need_a_signed_in_host_and_the_csrf_header(client, make_user) -> None:
    assert _post(client, None, {"url": URL}).status_code == 401
    token = sign_in(client, make_user())
    assert _post(client, token, {"url": URL}).status_code == 403
    sign_in(client, make_user(is_host=True))
    assert _post(client, None, {"url": URL}).status_code == 400  # no CSRF header


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"url": 5},
        {"url": "javascript:alert(1)"},
        {"url": "ftp://a/b"},
        {"url": "http://a b"},
        {"url": "https://u:p@x.com/i/spaces/1"},
        ["x"],
    ],
)
def test_bad_links_are_refused(client, make_user, body) -> None:
    token = sign_in(client, make_user(is_host=True))
    response = _post(client, token, body)
    assert response.status_code == 400
    assert response.get_json()["error"]


def test_submissions_are_rate_limited_per_host(client, make_user) -> None:
    token = sign_in(client, make_user(is_host=True))
    statuses = [_post(client, token, {"url": f"{URL}{n}"}).status_code for n in range(4)]
    assert statuses == [202, 202, 202, 429]
    limited = _post(client, token, {"url": URL})
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    # Another host has their own allowance.
    other = sign_in(client, make_user(is_host=True))
    assert _post(client, other, {"url": URL}).status_code == 202


def test_the_dashboard_form_submits_too(client, make_user) -> None:
    token = sign_in(client, make_user(is_host=True))
    response = client.post("/host/submissions", data={"csrf_token": token, "url": URL})
    assert response.status_code == 302
    assert URL in client.get("/host/").get_data(as_text=True)
    bad = client.post("/host/submissions", data={"csrf_token": token, "url": "nope"})
    assert bad.status_code == 400 and 'value="nope"' in bad.get_data(as_text=True)


def test_claimed_hosts_spaces_show_with_a_listener_chart(
    client, make_user, make_space, services, now
) -> None:
    space = make_space(
        title="My <show>", host_handle="me", checked=now, shared_on=("https://blog.example/post",)
    )
    with services.catalog.session() as session:
        for minutes, listeners in ((20, 3), (10, 9), (0, 5)):
            at = now - timedelta(minutes=minutes)
            session.add(
                SpaceCheck(
                    space_id=space, at=at, ok=True, state="live", listeners=listeners, error=""
                )
            )
    token = sign_in(client, make_user(is_host=True))
    assert (
        client.post("/host/claims", data={"csrf_token": token, "handle": "@me"}).status_code == 302
    )
    assert "My &lt;show&gt;" not in client.get("/host/").get_data(as_text=True)
    with services.catalog.session() as session:
        session.scalars(select(HostClaim)).one().status = "approved"
    page = client.get("/host/").get_data(as_text=True)
    assert "My &lt;show&gt;" in page
    assert '<svg class="chart"' in page and "<polyline" in page and ">9</text>" in page
    assert "https://blog.example/post" in page
    unknown = client.post("/host/claims", data={"csrf_token": token, "handle": "nobody"})
    assert unknown.status_code == 400


def test_openapi_documents_submissions(client) -> None:
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert set(paths["/submissions"]["post"]["responses"]) >= {"202", "400", "401", "429"}
