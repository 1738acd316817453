"""The API's Space carries its health: how its liveness checks have gone lately."""

from __future__ import annotations

from datetime import timedelta

from core.catalog.checks import record_observations
from core.catalog.records import Observation
from core.catalog.states import State


def test_space_health_after_good_and_failed_checks(client, services, make_space, now) -> None:
    space_id = make_space()
    fresh = client.get(f"/api/v1/spaces/{space_id}").get_json()["health"]
    assert fresh == {
        "last_ok_at": None,
        "last_status": 0,
        "failures": 0,
        "reason": "",
        "last_checked_at": None,
        "reachable": True,
    }
    later = now + timedelta(seconds=30)
    with services.catalog.session() as session:
        seen = {space_id: Observation(State.LIVE, status=200)}
        record_observations(session, seen, interval_s=30, now=now)
        failed = Observation(None, error="status endpoint answered HTTP 502", reason="http_5xx")
        failed.status = 502
        record_observations(session, {space_id: failed}, interval_s=30, now=later)
    health = client.get(f"/api/v1/spaces/{space_id}").get_json()["health"]
    stamp = "%Y-%m-%dT%H:%M:%S"
    assert health["last_ok_at"].startswith(now.strftime(stamp))
    assert health["last_checked_at"].startswith(later.strftime(stamp))
    assert (health["last_status"], health["failures"], health["reason"]) == (502, 1, "http_5xx")
    assert health["reachable"] is False
    listed = client.get("/api/v1/spaces").get_json()["items"]
    assert [item["health"]["reason"] for item in listed] == ["http_5xx"]
