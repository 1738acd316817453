"""Liveness metrics shared by every worker process: counters in Redis, gauges from the catalog."""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import StartedJobRegistry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.freshness import (
    UNVERIFIED_AFTER_FAILURES,
    trusted_at_column,
    verified_since,
)
from core.catalog.models import Space
from core.catalog.states import State
from core.queues import ALL_QUEUES, LIVENESS, queue
from core.redisconn import as_text
from core.services import Services
from core.timeutil import utcnow

CHECKS_KEY = "spaces:metrics:checks"  # hash: "<probe>:<result>" -> count since first start
SECOND_KEY = "spaces:metrics:checks:second:{}"  # checks finished in one wall-clock second
RATE_WINDOW_S = 60


def count_checks(connection: redis.Redis, tally: Mapping[tuple[str, str], int]) -> None:
    """Add a batch's checks, by (probe kind, result), to the shared counters."""
    total = sum(tally.values())
    if not total:
        return
    second = int(time.time())
    # Kept in Redis, not in process memory: several workers on several hosts add up.
    with connection.pipeline(transaction=False) as pipe:
        for (kind, result), count in tally.items():
            pipe.hincrby(CHECKS_KEY, f"{kind}:{result}", count)
        pipe.incrby(SECOND_KEY.format(second), total)
        pipe.expire(SECOND_KEY.format(second), RATE_WINDOW_S * 2)
        pipe.execute()


DELIVERIES_KEY = "spaces:metrics:deliveries"  # hash: "<channel>:<outcome>" -> count


def count_deliveries(connection: redis.Redis, tally: Mapping[tuple[str, str], int]) -> None:
    """Add delivery outcomes, by (channel, outcome: sent | failed | dead), to the counters."""
    if not tally:
        return
    with connection.pipeline(transaction=False) as pipe:
        for (channel, outcome), count in tally.items():
            pipe.hincrby(DELIVERIES_KEY, f"{channel}:{outcome}", count)
        pipe.execute()


def delivery_counts(connection: redis.Redis) -> dict[tuple[str, str], int]:
    """Return the delivery outcomes counted so far, by (channel, outcome)."""
    counts: dict[tuple[str, str], int] = {}
    for field, value in connection.hgetall(DELIVERIES_KEY).items():
        channel, _, outcome = as_text(field).partition(":")
        counts[channel, outcome] = int(value)
    return counts


def check_counts(connection: redis.Redis) -> dict[tuple[str, str], int]:
    """Return the checks counted so far, by (probe kind, result)."""
    counts: dict[tuple[str, str], int] = {}
    for field, value in connection.hgetall(CHECKS_KEY).items():
        kind, _, result = as_text(field).partition(":")
        counts[kind, result] = int(value)
    return counts


def checks_per_s(connection: redis.Redis, window_s: int = RATE_WINDOW_S) -> float:
    """Return the checks per second over the last `window_s` complete seconds."""
    now = int(time.time())
    keys = [SECOND_KEY.format(second) for second in range(now - window_s, now)]
    return sum(int(v) for v in connection.mget(keys) if v is not None) / window_s


def schedule_lag_s(session: Session, now: datetime, connection: redis.Redis | None = None) -> float:
    """Return how long the oldest unchecked due space has waited (0 when none is due).

    A due space waits first in the catalog, then (leased) in a queued batch; the
    oldest queued batch was due at least since it was queued, so both count.
    """
    oldest = session.scalar(select(func.min(Space.next_check_at)).where(Space.next_check_at <= now))
    lag = max(0.0, (now - oldest).total_seconds()) if oldest is not None else 0.0
    queued = _oldest_queued(connection) if connection is not None else None
    if queued is not None:
        lag = max(lag, (now - queued).total_seconds())
    return lag


def _oldest_queued(connection: redis.Redis) -> datetime | None:
    for job_id in Queue(LIVENESS, connection=connection).get_job_ids(0, 0):
        try:
            return Job.fetch(job_id, connection=connection).enqueued_at
        except NoSuchJobError:
            return None  # taken and finished between the two calls
    return None


def snapshot(services: Services) -> dict[str, Any]:
    """Return the liveness figures an operator needs, as plain data (the admin page's view)."""
    now = utcnow()
    interval = services.config.live_check_interval_s
    connection = services.redis
    with services.catalog.sessions() as session:
        lag = schedule_lag_s(session, now, connection)
        rows = session.execute(select(Space.state, func.count()).group_by(Space.state)).all()
        by_state = {str(state): int(count) for state, count in rows}
        live = Space.state == State.LIVE
        unverified = session.scalar(
            select(func.count()).where(live, Space.check_failures >= UNVERIFIED_AFTER_FAILURES)
        )
        fresh = verified_since(now, interval)
        stale = session.scalar(
            select(func.count()).where(
                live, (trusted_at_column().is_(None)) | (trusted_at_column() < fresh)
            )
        )
    queues = {}
    for name in ALL_QUEUES:
        q = queue(services, name)
        started = StartedJobRegistry(name, connection=connection)
        queues[name] = {"queued": q.count, "started": started.count}
    return {
        "checks": {f"{kind}:{result}": n for (kind, result), n in check_counts(connection).items()},
        "checks_per_s": round(checks_per_s(connection), 2),
        "schedule_lag_s": round(lag, 3),
        "queues": queues,
        "spaces": {str(state): by_state.get(str(state), 0) for state in State},
        "live_unverified": int(unverified or 0),
        "live_stale": int(stale or 0),
        "live_check_interval_s": interval,
        "deliveries": {f"{ch}:{out}": n for (ch, out), n in delivery_counts(connection).items()},
    }


class _Collector:
    """Hand Prometheus one fresh snapshot per scrape."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        figures = snapshot(self.services)
        checks = CounterMetricFamily(
            "spaces_liveness_checks",
            "Liveness checks made, by probe kind and result.",
            labels=["probe", "result"],
        )
        for key, count in sorted(figures["checks"].items()):
            kind, _, result = key.partition(":")
            checks.add_metric([kind, result], count)
        yield checks
        yield GaugeMetricFamily(
            "spaces_liveness_schedule_lag_seconds",
            "How long the most overdue liveness check has been due.",
            value=figures["schedule_lag_s"],
        )
        depth = GaugeMetricFamily(
            "spaces_queue_jobs", "Jobs per worker queue, by status.", labels=["queue", "status"]
        )
        for name, counts in figures["queues"].items():
            for status, count in counts.items():
                depth.add_metric([name, status], count)
        yield depth
        spaces = GaugeMetricFamily(
            "spaces_spaces", "Spaces in the catalog, by state.", labels=["state"]
        )
        for state, count in figures["spaces"].items():
            spaces.add_metric([state], count)
        yield spaces
        yield GaugeMetricFamily(
            "spaces_live_unverified",
            "Live spaces whose last few checks failed.",
            value=figures["live_unverified"],
        )
        yield GaugeMetricFamily(
            "spaces_live_stale",
            "Live spaces not verified for three intervals (left out of live now).",
            value=figures["live_stale"],
        )
        sent = CounterMetricFamily(
            "spaces_notifications",
            "Notices sent on outside channels, by channel and outcome: sent, failed (to be "
            "retried) and dead (dead-lettered: given up or the device is gone).",
            labels=["channel", "outcome"],
        )
        for channel in ("push", "email"):
            for outcome in ("sent", "failed", "dead"):
                count = figures["deliveries"].get(f"{channel}:{outcome}", 0)
                sent.add_metric([channel, outcome], count)
        yield sent


def exposition(services: Services) -> bytes:
    """Return every metric in the Prometheus text format."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector(services))
    return generate_latest(registry)


def bearer_allowed(authorization: str, token: str) -> bool:
    """Say whether a request may read /metrics: no token is set, or it carries this one.

    `authorization` is the request's Authorization header ("" when absent); the token
    is compared in constant time.
    """
    if not token:
        return True
    scheme, _, given = authorization.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )
