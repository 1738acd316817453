"""X Spaces checked through a local server that speaks the X API v2 Spaces lookup."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web

from core import metrics
from core.catalog.models import Space, StateChange
from core.platforms import x as xapi
from core.services import Services
from core.timeutil import utcnow
from tests.support import LoopbackAiohttpServer
from tests.worker.conftest import add_space
from worker import context
from worker.liveness_jobs import check_spaces

TOKEN = "test-bearer-token"


class XServer(LoopbackAiohttpServer):
    """Answer `GET /2/spaces?ids=` like the X API: data, partial errors, rate limits."""

    def __init__(self) -> None:
        super().__init__()
        self.spaces: dict[str, dict[str, Any]] = {}
        self.calls: list[dict[str, str]] = []
        self.remaining = 300  # calls left in the window
        self.reset_at = time.time() + 900
        self.status = 200  # anything else is returned as is (401, 500, ...)

    async def _lookup(self, request: web.Request) -> web.Response:
        self.calls.append({**request.query, "auth": request.headers.get("Authorization", "")})
        headers = {"x-rate-limit-limit": "300", "x-rate-limit-reset": str(int(self.reset_at))}
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"title": "Unauthorized", "status": 401}, status=401)
        if self.status != 200:
            return web.json_response({"title": "Error"}, status=self.status, headers=headers)
        if self.remaining <= 0:
            headers["x-rate-limit-remaining"] = "0"
            return web.json_response({"title": "Too Many Requests"}, status=429, headers=headers)
        self.remaining -= 1
        headers["x-rate-limit-remaining"] = str(self.remaining)
        ids = request.query["ids"].split(",")
        if len(ids) > 100:
            return web.json_response({"title": "Invalid Request"}, status=400)
        data = [{"id": i, **self.spaces[i]} for i in ids if i in self.spaces]
        errors = [
            {
                "value": i,
                "detail": f"Could not find space with ids: [{i}].",
                "title": "Not Found Error",
                "resource_type": "space",
                "parameter": "ids",
                "resource_id": i,
                "type": "https://api.twitter.com/2/problems/resource-not-found",
            }
            for i in ids
            if i not in self.spaces
        ]
        body: dict[str, Any] = {"data": data} if data else {}
        if errors:
            body["errors"] = errors
        return web.json_response(body, headers=headers)

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/2/spaces", self._lookup)


@pytest.fixture
def x_server() -> Iterator[XServer]:
    server = XServer().start()
    yield server
    server.stop()


@pytest.fixture
def x_services(queued_services: Services, x_server: XServer) -> Iterator[Services]:
    """Installed services that call the local X API with a token."""
    config = queued_services.config.with_(x_bearer_token=TOKEN, x_api_url=x_server.base)
    installed = context.install(dataclasses.replace(queued_services, config=config))
    yield installed
    context.reset()


def x_space(services: Services, x_id: str) -> int:
    return add_space(services, f"https://x.com/i/spaces/{x_id}", platform="x")


def load(services: Services, space_id: int) -> Space:
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        session.expunge(space)
        return space


def test_states_counts_and_gone_from_one_call(x_services: Services, x_server: XServer) -> None:
    x_server.spaces = {
        "1LiveAAAAA": {
            "state": "live",
            "participant_count": 321,
            "title": "Live on X",
            "started_at": "2026-11-23T10:00:00.000Z",
            "host_ids": ["11"],
            "speaker_ids": ["11", "12", "13"],
        },
        "1EndedAAAA": {"state": "ended", "ended_at": "2026-11-23T11:00:00.000Z"},
        "1SchedAAAA": {"state": "scheduled", "scheduled_start": "2030-01-01T09:00:00.000Z"},
    }
    live, ended, scheduled, missing = (
        x_space(x_services, x_id)
        for x_id in ("1LiveAAAAA", "1EndedAAAA", "1SchedAAAA", "1GoneAAAAA")
    )
    counts = check_spaces([live, ended, scheduled, missing])
    # live -> scheduled cannot happen (the space ran already): that one is not a change.
    assert counts == {"checked": 4, "changed": 2, "failed": 0, "skipped": 0, "deferred": 0}
    [call] = x_server.calls
    assert call["auth"] == f"Bearer {TOKEN}"
    assert sorted(call["ids"].split(",")) == [
        "1EndedAAAA",
        "1GoneAAAAA",
        "1LiveAAAAA",
        "1SchedAAAA",
    ]
    assert set(call["space.fields"].split(",")) >= {
        "state",
        "participant_count",
        "title",
        "scheduled_start",
        "started_at",
        "ended_at",
        "host_ids",
        "speaker_ids",
    }
    space = load(x_services, live)
    assert (space.state, space.listener_count, space.speaker_count) == ("live", 321, 3)
    assert space.title == "Live on X" and space.last_verified_at is not None
    assert load(x_services, ended).ended_at == datetime(2026, 11, 23, 11, tzinfo=UTC)
    assert load(x_services, scheduled).state == "live"
    gone = load(x_services, missing)
    assert gone.state == "gone" and gone.next_check_at is None
    assert metrics.check_counts(x_services.redis) == {("x", "ok"): 4}


def test_at_most_100_ids_per_call(x_services: Services, x_server: XServer) -> None:
    ids = [x_space(x_services, f"1Many{n:05d}") for n in range(150)]
    x_server.spaces = {f"1Many{n:05d}": {"state": "live"} for n in range(150)}
    assert check_spaces(ids)["checked"] == 150
    assert [len(call["ids"].split(",")) for call in x_server.calls] == [100, 50]


def test_429_defers_until_the_reset_without_failing(
    x_services: Services, x_server: XServer
) -> None:
    x_server.remaining = 0
    x_server.reset_at = time.time() + 120
    space_id = x_space(x_services, "1LimitedAA")
    counts = check_spaces([space_id])
    assert counts == {"checked": 0, "changed": 0, "failed": 0, "skipped": 0, "deferred": 1}
    space = load(x_services, space_id)
    assert space.check_failures == 0 and space.last_checked_at is None
    reset = datetime.fromtimestamp(int(x_server.reset_at), UTC)
    assert space.next_check_at == reset
    assert xapi.blocked_until(x_services.redis) == reset

    # Every worker now waits for the reset: no call is made for another space either.
    other = x_space(x_services, "1WaitingAA")
    assert check_spaces([other])["deferred"] == 1
    assert len(x_server.calls) == 1
    assert load(x_services, other).next_check_at == reset
    assert metrics.check_counts(x_services.redis) == {("x", "deferred"): 2}


def test_no_call_past_a_window_with_nothing_remaining(
    x_services: Services, x_server: XServer
) -> None:
    x_server.remaining = 1  # the first call uses the window's last request
    x_server.reset_at = time.time() + 60
    ids = [x_space(x_services, f"1Window{n:04d}") for n in range(120)]
    x_server.spaces = {f"1Window{n:04d}": {"state": "live"} for n in range(120)}
    counts = check_spaces(ids)
    assert (counts["checked"], counts["deferred"], counts["failed"]) == (100, 20, 0)
    assert len(x_server.calls) == 1, "the API said no requests remain; none must be sent"
    with x_services.catalog.session() as session:
        waiting = session.query(Space).filter(Space.last_checked_at.is_(None)).all()
        assert len(waiting) == 20
        assert {s.next_check_at for s in waiting} == {
            datetime.fromtimestamp(int(x_server.reset_at), UTC)
        }


def test_refused_token_and_server_errors_are_failures(
    x_services: Services, x_server: XServer
) -> None:
    space_id = x_space(x_services, "1ErrorsAAA")
    x_server.status = 503
    assert check_spaces([space_id])["failed"] == 1
    space = load(x_services, space_id)
    assert space.state == "live" and space.check_failures == 1
    assert "HTTP 503" in space.last_check_error

    wrong = x_services.config.with_(x_bearer_token="wrong")
    context.install(dataclasses.replace(x_services, config=wrong))
    x_server.status = 200
    check_spaces([space_id])
    space = load(x_services, space_id)
    assert space.check_failures == 2 and "SPACES_X_BEARER_TOKEN" in space.last_check_error
    assert space.next_check_at - space.last_checked_at == timedelta(seconds=60)


def test_replayed_x_results_record_one_state_change(
    x_services: Services, x_server: XServer
) -> None:
    space_id = x_space(x_services, "1ReplayAAA")
    x_server.spaces["1ReplayAAA"] = {"state": "ended"}
    for _ in range(3):
        check_spaces([space_id])
    with x_services.catalog.session() as session:
        changes = session.query(StateChange).filter_by(space_id=space_id, reason="check").all()
        assert [(c.from_state, c.to_state) for c in changes] == [("live", "ended")]
    assert load(x_services, space_id).next_check_at is None  # ended, re-checked once: done
    assert utcnow() > load(x_services, space_id).last_checked_at
