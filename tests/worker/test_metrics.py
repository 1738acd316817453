"""Metrics at /metrics and in snapshot(), and freshness as the portal shows it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import redis as redis_lib
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from core import metrics, queues
from core.catalog.freshness import Freshness, freshness
from core.catalog.models import Space
from core.redisconn import embedded_redis_url
from core.services import Services
from core.timeutil import utcnow
from portal.app import create_app
from portal.queries import live_now
from tests.conftest import REDIS_URL
from tests.worker.conftest import StatusServer, add_space, room
from worker.liveness_jobs import check_spaces


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_exposition(queued_services: Services, status_server: StatusServer) -> None:
    status_server.rooms.update({"m1": room("m1"), "m2": room("m2", state="ended"), "m3": 500})
    ids = [
        add_space(
            queued_services, f"http://rooms.test/s/{r}", status_url=status_server.status_url(r)
        )
        for r in ("m1", "m2", "m3")
    ]
    overdue = add_space(queued_services, "http://rooms.test/s/late", status_url="")
    with queued_services.catalog.session() as session:
        session.execute(
            update(Space)
            .where(Space.id == overdue)
            .values(next_check_at=utcnow() - timedelta(seconds=42))
        )
    check_spaces(ids)
    queues.enqueue_liveness_batch(queued_services, [overdue])

    client = create_app(queued_services.config, queued_services).test_client()
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    found = samples(response.get_data(as_text=True))
    assert found["spaces_liveness_checks_total", (("probe", "status"), ("result", "ok"))] == 2
    assert found["spaces_liveness_checks_total", (("probe", "status"), ("result", "failed"))] == 1
    assert 42 <= found["spaces_liveness_schedule_lag_seconds", ()] < 120
    assert found["spaces_queue_jobs", (("queue", "liveness"), ("status", "queued"))] == 1
    assert found["spaces_spaces", (("state", "live"),)] == 3
    assert found["spaces_spaces", (("state", "ended"),)] == 1
    assert found["spaces_live_unverified", ()] == 0


def test_counters_are_shared_between_processes(queued_services: Services, redis_client) -> None:
    # Another worker process: another client on the same server, adding to the same counts.
    embedded = getattr(redis_client, "socket_file", None)
    url = embedded_redis_url(redis_client) if embedded else REDIS_URL
    other = redis_lib.Redis.from_url(url)
    metrics.count_checks(redis_client, {("status", "ok"): 5})
    metrics.count_checks(other, {("status", "ok"): 7, ("page", "failed"): 1})
    other.close()
    assert metrics.check_counts(redis_client) == {("status", "ok"): 12, ("page", "failed"): 1}
    figures = metrics.snapshot(queued_services)
    assert figures["checks"] == {"status:ok": 12, "page:failed": 1}
    assert figures["checks_per_s"] >= 0
    assert set(figures) >= {"schedule_lag_s", "queues", "spaces", "live_unverified", "live_stale"}


def test_three_failures_make_a_live_space_unverified_then_stale(
    worker_services: Services, status_server: StatusServer
) -> None:
    status_server.rooms["f"] = room("f")
    space_id = add_space(
        worker_services, "http://rooms.test/s/f", status_url=status_server.status_url("f")
    )
    check_spaces([space_id])
    interval = worker_services.config.live_check_interval_s
    # The server answers, but not with a status: reached, so not "unreachable" (a refused
    # connection or a 503 is, from the first failure: tests/worker/test_liveness_reach.py).
    status_server.rooms["f"] = 403
    seen = []
    for _ in range(3):
        check_spaces([space_id])
        with worker_services.catalog.session() as session:
            space = session.get(Space, space_id)
            seen.append(freshness(space, space.last_checked_at, interval))
    assert seen == [Freshness.FRESH, Freshness.FRESH, Freshness.UNVERIFIED]
    with worker_services.catalog.session() as session:
        space = session.get(Space, space_id)
        verified = space.last_verified_at
        assert space.state == "live" and verified is not None
        in_time = verified + timedelta(seconds=3 * interval - 1)
        too_late = verified + timedelta(seconds=3 * interval + 1)
        assert freshness(space, too_late, interval) == Freshness.STALE
        # Live now lists it while verified within three intervals, and not after.
        assert [s.id for s in live_now(session, in_time, interval)] == [space_id]
        assert live_now(session, too_late, interval) == []


def test_api_shows_the_check_times(worker_services: Services, status_server: StatusServer) -> None:
    status_server.rooms["a"] = room("a")
    space_id = add_space(
        worker_services, "http://rooms.test/s/a", status_url=status_server.status_url("a")
    )
    check_spaces([space_id])
    services = dataclasses.replace(worker_services)
    client = create_app(services.config, services).test_client()
    body = client.get(f"/api/v1/spaces/{space_id}").get_json()
    with worker_services.catalog.session() as session:
        checked = session.get(Space, space_id).last_checked_at
    assert body["last_checked_at"].startswith(checked.strftime("%Y-%m-%dT%H:%M:%S"))
    listed = client.get("/api/v1/spaces?state=live").get_json()
    assert [item["id"] for item in listed["items"]] == [space_id]
