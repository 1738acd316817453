"""Real worker processes: one scheduler among many, and a worker killed mid-batch."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from rq import Queue
from rq.cron import CronScheduler
from rq.job import Job
from rq.registry import FinishedJobRegistry, StartedJobRegistry
from sqlalchemy import select

from core import queues
from core.catalog.models import Space, SpaceCheck, StateChange
from core.redisconn import embedded_redis_url
from core.services import Services
from core.timeutil import utcnow
from tests.worker.conftest import StatusServer, add_space, room
from worker import context
from worker.liveness_jobs import check_spaces, schedule_liveness
from worker.run import SCHEDULER_LOCK

pytestmark = [
    pytest.mark.slow,
    # Processes are slow to start: run these on the embedded Redis only.
    pytest.mark.parametrize("redis_client", ["embedded"], indirect=True),
]

INTERVAL_S = 1.0  # makes the lease 5 s, so a lost batch comes due again soon


@pytest.fixture
def fast_services(queued_services: Services) -> Iterator[Services]:
    config = queued_services.config.with_(live_check_interval_s=INTERVAL_S)
    installed = context.install(dataclasses.replace(queued_services, config=config))
    yield installed
    context.reset()


@pytest.fixture
def start_worker(fast_services: Services) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    env = {
        **os.environ,
        **fast_services.config.child_env(),
        "SPACES_REDIS_URL": embedded_redis_url(fast_services.redis),
    }

    def start(*args: str) -> subprocess.Popen[bytes]:
        child = subprocess.Popen(
            [sys.executable, "-m", "worker", *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started.append(child)
        return child

    yield start
    for child in started:
        if child.poll() is None:
            child.kill()
            child.wait()


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.1)


def stop(child: subprocess.Popen[bytes]) -> None:
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=20) == 0


def test_two_workers_one_scheduler(fast_services: Services, start_worker) -> None:
    redis = fast_services.redis
    first, second = start_worker(), start_worker()
    wait_for(lambda: redis.get(SCHEDULER_LOCK), 30, "a worker taking the scheduler lock")
    finished = FinishedJobRegistry(queues.SCHEDULE, connection=redis)

    def ticks() -> int:
        jobs = Job.fetch_many(finished.get_job_ids(), connection=redis)
        return sum(job is not None and job.func_name.endswith("schedule_liveness") for job in jobs)

    wait_for(lambda: ticks() >= 1, 30, "a first schedule tick")
    before, started = ticks(), time.monotonic()
    time.sleep(6)
    made = ticks() - before
    elapsed = time.monotonic() - started
    # One scheduler ticks every 2 s; two would make twice as many ticks.
    assert 1 <= made <= elapsed / 2 + 1, f"{made} ticks in {elapsed:.1f} s"
    assert len(CronScheduler.all(redis)) == 1
    stop(first)
    stop(second)
    assert redis.get(SCHEDULER_LOCK) is None


def test_kill_9_mid_batch_loses_nothing_and_records_once(
    fast_services: Services, status_server: StatusServer, start_worker
) -> None:
    redis = fast_services.redis
    ids = []
    for n in range(6):
        status_server.rooms[f"k{n}"] = 3.0  # slow answers: the batch is mid-flight for 3 s
        ids.append(
            add_space(
                fast_services,
                f"http://rooms.test/s/k{n}",
                status_url=status_server.status_url(f"k{n}"),
            )
        )
    assert schedule_liveness() == 1
    leased_until = _next_checks(fast_services)
    victim = start_worker("--queues", "liveness", "--no-scheduler")
    started = StartedJobRegistry(queues.LIVENESS, connection=redis)
    wait_for(lambda: len(status_server.requests) == len(ids), 30, "the batch's requests")
    assert started.get_job_ids(), "the batch should be running"
    victim.send_signal(signal.SIGKILL)
    victim.wait()

    # Nothing was recorded, and every space is held only by its lease.
    with fast_services.catalog.session() as session:
        assert session.scalars(select(SpaceCheck)).all() == []
        assert all(s.last_checked_at is None for s in session.scalars(select(Space)))
    assert all(until <= utcnow() + _lease_s() for until in leased_until.values())

    # The rooms answer now; half of them have ended.
    for n in range(6):
        status_server.rooms[f"k{n}"] = room(f"k{n}", state="ended" if n % 2 else "live")
    start_worker("--queues", "crawl-now", "liveness")
    wait_for(lambda: _all_checked(fast_services, ids), 60, "every space checked again")

    with fast_services.catalog.session() as session:
        for n, space_id in enumerate(ids):
            next_check = session.get(Space, space_id).next_check_at
            if n % 2:  # ended: one more look in ~10 minutes
                assert next_check > utcnow() + timedelta(minutes=9)
            else:  # live: within an interval or so
                assert next_check < utcnow() + _lease_s()
    # A stray replay of the lost batch (RQ's abandoned-job retry, say) records nothing new.
    replay = Queue(queues.LIVENESS, connection=redis).enqueue(check_spaces, ids)
    wait_for(lambda: replay.is_finished or replay.is_failed, 30, "the replayed batch")
    with fast_services.catalog.session() as session:
        for n, space_id in enumerate(ids):
            space = session.get(Space, space_id)
            changes = session.scalars(
                select(StateChange).where(
                    StateChange.space_id == space_id, StateChange.reason == "check"
                )
            ).all()
            if n % 2:
                assert space.state == "ended"
                assert [(c.from_state, c.to_state) for c in changes] == [("live", "ended")]
            else:
                assert space.state == "live" and changes == []
                assert space.next_check_at is not None
                assert space.next_check_at < utcnow() + _lease_s()


def _lease_s():
    from worker.liveness_jobs import lease

    return lease(INTERVAL_S)


def _next_checks(services: Services) -> dict[int, object]:
    with services.catalog.session() as session:
        return dict(session.execute(select(Space.id, Space.next_check_at)).all())


def _all_checked(services: Services, ids: list[int]) -> bool:
    with services.catalog.session() as session:
        rows = session.scalars(select(Space).where(Space.id.in_(ids))).all()
        return all(space.last_checked_at is not None for space in rows)
