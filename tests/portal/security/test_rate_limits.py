"""Rate limits live in Redis, so two portal processes share them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from core.services import build_services
from portal.app import create_app
from tests.portal.accounts.helpers import csrf, make_user, sign_in

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
