"""Rate limits live in Redis, so two portal processes share them."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from flask import Flask
from werkzeug.exceptions import TooManyRequests

from core.services import build_services
from portal.app import create_app
from portal.security import limit
from tests.conftest import REDIS_AVAILABLE, REDIS_URL, make_services
from tests.portal.accounts.helpers import csrf, make_user, sign_in
from tests.support import free_port

LIMITS = {
    "signin_rate_limit": 3,
    "signup_rate_limit": 2,
    "ping_rate_limit": 3,
    "submission_rate_limit": 2,
}


@pytest.fixture
def two_apps(config, services) -> Iterator[tuple[Flask, Flask]]:
    """Two apps, each with its own services and Redis client, on one Redis server."""
    # The test services' Redis server, reached by URL as another process would.
    shared = config.with_(extra=LIMITS)
    built = [build_services(shared) for _ in range(2)]
    try:
        yield create_app(shared, built[0]), create_app(shared, built[1])
    finally:
        for one in built:
            one.close()


def _alternate(apps, attempt, times: int) -> list[int]:
    return [attempt(apps[i % 2]) for i in range(times)]


def test_sign_in_limit_holds_across_processes(two_apps) -> None:
    clients = [app.test_client() for app in two_apps]
    tokens = {id(c): csrf(c) for c in clients}

    def attempt(client) -> int:
        data = {"csrf_token": tokens[id(client)], "email": "a@example.org", "password": "nope"}
        return client.post("/account/signin", data=data).status_code

    assert _alternate(clients, attempt, 5) == [400, 400, 400, 429, 429]


def test_sign_up_limit_holds_across_processes(two_apps) -> None:
    clients = [app.test_client() for app in two_apps]
    count = iter(range(100))

    def attempt(client) -> int:
        data = {"csrf_token": csrf(client), "email": "bad", "password": "x", "confirm": "x"}
        next(count)
        return client.post("/account/signup", data=data).status_code

    statuses = _alternate(clients, attempt, 4)
    assert statuses == [400, 400, 429, 429]
    limited = clients[0].post("/account/signup", data={"csrf_token": csrf(clients[0])})
    assert 1 <= int(limited.headers["Retry-After"]) <= 3601
    assert "Too many sign-ups" in limited.get_data(as_text=True)


def test_ping_limit_holds_across_processes(two_apps) -> None:
    clients = [app.test_client() for app in two_apps]
    statuses = _alternate(clients, lambda c: c.post("/api/v1/ping", json={}).status_code, 5)
    assert statuses == [400, 400, 400, 429, 429]


def test_submission_limit_holds_across_processes(two_apps, services) -> None:
    if "hosting_api.create_submission" not in two_apps[0].view_functions:
        pytest.skip("this build has no submissions endpoint")
    make_user(services, "host@example.org", host=True)
    clients = [app.test_client() for app in two_apps]
    for client in clients:
        sign_in(client, "host@example.org")
    headers = {id(c): {"X-CSRF-Token": csrf(c)} for c in clients}

    def attempt(client) -> int:
        body = {"url": "not a url"}
        return client.post(
            "/api/v1/submissions", json=body, headers=headers[id(client)]
        ).status_code

    statuses = _alternate(clients, attempt, 4)
    assert statuses[2:] == [429, 429] and 429 not in statuses[:2]


# -- one mechanism, on the real Redis server and the embedded one -------------------------


@pytest.fixture(params=["redis", "embedded"])
def redis_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A flushed Redis reached by URL: the real server where reachable, and the embedded one."""
    if request.param == "embedded":
        yield request.getfixturevalue("embedded_redis_url")
        return
    if not REDIS_AVAILABLE:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def limited(config, redis_url) -> Iterator[Flask]:
    """An app whose limits are small, counting in the Redis of `redis_url`."""
    shared = config.with_(redis_url=redis_url, extra=LIMITS)
    built = make_services(shared)
    try:
        yield create_app(shared, built)
    finally:
        built.close()


def _wait(response) -> int:
    return int(response.headers["Retry-After"])


def test_sign_in_is_limited_per_address_then_per_account(limited) -> None:
    client = limited.test_client()
    token = csrf(client)

    def attempt(email: str, address: str = "127.0.0.1"):
        data = {"csrf_token": token, "email": email, "password": "wrong guess"}
        return client.post("/account/signin", data=data, environ_base={"REMOTE_ADDR": address})

    assert [attempt(f"a{n}@example.org").status_code for n in range(4)] == [400, 400, 400, 429]
    limited_page = attempt("a@example.org")
    text = limited_page.get_data(as_text=True)
    assert "Too many sign-in attempts from your address: at most 3 per 5 minutes." in text
    assert re.search(r"Try again in [1-5] minutes?\.", text)
    assert 1 <= _wait(limited_page) <= 300
    # Spread over many addresses, guesses at one account meet that account's own limit.
    statuses = [attempt("b@example.org", f"198.51.100.{n}").status_code for n in range(11)]
    assert statuses == [400] * 10 + [429]
    last = attempt("b@example.org", "198.51.100.99")
    assert "Too many sign-in attempts for this account" in last.get_data(as_text=True)


def test_any_form_or_endpoint_can_take_a_named_limit(limited) -> None:
    # The password-reset form and push subscriptions count through this one helper.
    with limited.test_request_context("/account/forgot", method="POST"):
        for _ in range(5):
            limit("password_reset", "198.51.100.1", "password reset requests")
        with pytest.raises(TooManyRequests) as refused:
            limit("password_reset", "198.51.100.1", "password reset requests")
        limit("password_reset", "198.51.100.2", "password reset requests")  # its own count
    assert refused.value.description.startswith(
        "Too many password reset requests: at most 5 an hour. Try again in "
    )
    assert 1 <= int(refused.value.retry_after) <= 3600
    with limited.test_request_context("/api/v1/push/subscriptions", method="POST"):
        for _ in range(30):
            limit("push_subscribe", "user-1", "browser subscriptions")
        with pytest.raises(TooManyRequests) as refused:
            limit("push_subscribe", "user-1", "browser subscriptions")
    # The API's errors are one clause, like its other errors.
    assert refused.value.description.startswith("too many browser subscriptions: at most 30 an")


def test_a_window_can_be_configured_too(config, redis_url) -> None:
    extra = {"signup_rate_limit": 1, "signup_rate_window_s": 7}
    shared = config.with_(redis_url=redis_url, extra=extra)
    built = make_services(shared)
    try:
        client = create_app(shared, built).test_client()
        data = {"csrf_token": csrf(client), "email": "bad"}
        assert client.post("/account/signup", data=data).status_code == 400
        refused = client.post("/account/signup", data=data)
    finally:
        built.close()
    assert refused.status_code == 429 and 1 <= _wait(refused) <= 7
    assert "at most 1 per 7 seconds" in refused.get_data(as_text=True)


def test_the_embedded_default_server_counts_too(config) -> None:
    """With no Redis URL the portal starts its own server; the limits count there."""
    shared = config.with_(redis_url="", extra=LIMITS)
    built = make_services(shared)
    try:
        app = create_app(shared, built)
        statuses = [app.test_client().post("/api/v1/ping", json={}).status_code for _ in range(4)]
        assert built.redis.dbsize() > 0  # the counters are in that server
    finally:
        built.close()
    assert statuses == [400, 400, 400, 429]


def test_without_redis_sign_in_is_refused_rather_than_unlimited(config) -> None:
    # Nothing listens there: the counters cannot be reached.
    shared = config.with_(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    built = make_services(shared)
    try:
        client = create_app(shared, built).test_client()
        data = {"csrf_token": csrf(client), "email": "a@example.org", "password": "guess"}
        page = client.post("/account/signin", data=data)
        ping = client.post("/api/v1/ping", json={"url": "https://rooms.example/s/a"})
    finally:
        built.close()
    assert page.status_code == 503
    assert (
        "The server cannot take sign-in attempts from your address right now. "
        "Try again in a minute." in page.get_data(as_text=True)
    )
    assert ping.status_code == 503
    assert ping.get_json() == {
        "error": "the server cannot take pings right now; try again in a minute"
    }
