"""POST /api/v1/ping: validated, rate limited per client, and queued for an immediate crawl."""

from __future__ import annotations

import pytest

from core.config import Config


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(extra={"ping_rate_limit": 3, "ping_rate_window_s": 60})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"url": "ftp://rooms.test/s/1"}, "absolute http:// or https://"),
        ({"url": "javascript:alert(1)"}, "absolute http:// or https://"),
        ({"url": "/s/1"}, "absolute http:// or https://"),
        ({"url": "http://"}, "absolute http:// or https://"),
        ({"url": "http://user:pw@rooms.test/s/1"}, "user name or password"),
        ({"url": "http://rooms.test/s/1 x"}, "spaces or control characters"),
        ({"url": "http://rooms.test/" + "a" * 2000}, "between 1 and 2000"),
        ({"url": ""}, "between 1 and 2000"),
        ({"url": 5}, "send a JSON object"),
        (["http://rooms.test/s/1"], "send a JSON object"),
        ({}, "send a JSON object"),
    ],
)
def test_invalid_pings_are_400(client, body, message) -> None:
    response = client.post("/api/v1/ping", json=body)
    assert response.status_code == 400
    assert message in response.get_json()["error"]


def test_ping_needs_a_json_body(client) -> None:
    response = client.post("/api/v1/ping", data="url=http://rooms.test/s/1")
    assert response.status_code == 400 and "JSON object" in response.get_json()["error"]


def test_ping_is_rate_limited_per_client(client) -> None:
    statuses = [client.post("/api/v1/ping", json={"url": "nope"}).status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    limited = client.post("/api/v1/ping", json={"url": "http://rooms.test/s/1"})
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert "too many pings" in limited.get_json()["error"]
    # Another client address has its own allowance.
    other = client.post(
        "/api/v1/ping", json={"url": "nope"}, environ_base={"REMOTE_ADDR": "192.0.2.7"}
    )
    assert other.status_code == 400


def test_valid_ping_queues_a_crawl(client, services) -> None:
    queues = pytest.importorskip("core.queues")
    url = "http://rooms.test/s/abc"
    response = client.post("/api/v1/ping", json={"url": url})
    assert response.status_code == 202
    assert response.get_json() == {"status": "accepted", "url": url}
    jobs = queues.queue(services, queues.CRAWL_NOW).get_jobs()
    assert [job.args for job in jobs] == [(url,)]
    # Asking twice does not queue the same crawl twice.
    assert client.post("/api/v1/ping", json={"url": url}).status_code == 202
    assert len(queues.queue(services, queues.CRAWL_NOW).get_jobs()) == 1
