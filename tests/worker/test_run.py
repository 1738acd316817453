import os
import signal
import subprocess
import sys
import time

import pytest
from rq import Queue, Worker
from rq.cron import CronScheduler
from rq.job import JobStatus

from core import queues
from core.catalog.models import Space
from core.redisconn import embedded_redis_url
from core.services import Services
from tests.conftest import REDIS_URL
from tests.worker.conftest import StatusServer, add_space, room
from worker.run import SCHEDULER_LOCK, HeartbeatWorker, Scheduler, build_cron, run_worker


def test_cron_registers_the_periodic_jobs(redis_client) -> None:
    cron = build_cron(redis_client)
    registered = {job.func_name: (job.queue_name, job.interval) for job in cron._cron_jobs}
    assert registered == {
        "worker.liveness_jobs.schedule_liveness": (queues.SCHEDULE, 2),
        "worker.jobs.schedule_sources": (queues.SCHEDULE, 2),
        "worker.liveness_jobs.prune_space_checks": (queues.SCHEDULE, 600),
        "worker.liveness_jobs.announce_missed_lives": (queues.SCHEDULE, 15),
        "worker.websub.renew_subscriptions": (queues.SCHEDULE, 30),
        "worker.delivery.dispatch_notifications": (queues.SCHEDULE, 2),
        "worker.delivery.notify_due_reminders": (queues.SCHEDULE, 5),
        "worker.delivery.send_digests": (queues.SCHEDULE, 60),
        "worker.delivery.prune_sessions": (queues.SCHEDULE, 600),
    }


def test_only_one_scheduler_leads(redis_client) -> None:
    first, second = Scheduler(redis_client), Scheduler(redis_client)
    first.tick()
    second.tick()
    assert first.leading and not second.leading
    ticks = Queue(queues.SCHEDULE, connection=redis_client)
    assert sorted(job.func_name for job in ticks.jobs) == [
        "worker.delivery.dispatch_notifications",
        "worker.delivery.notify_due_reminders",
        "worker.delivery.prune_sessions",
        "worker.delivery.send_digests",
        "worker.jobs.schedule_sources",
        "worker.liveness_jobs.announce_missed_lives",
        "worker.liveness_jobs.prune_space_checks",
        "worker.liveness_jobs.schedule_liveness",
        "worker.websub.renew_subscriptions",
    ]
    [seen] = CronScheduler.all(redis_client)
    assert seen.name == first.cron.name and len(seen._cron_jobs) == 9
    first.tick()  # nothing is due again this soon
    assert len(ticks) == 9

    first.stop()
    assert redis_client.get(SCHEDULER_LOCK) is None
    second.tick()
    assert second.leading
    second.stop()


def test_run_worker_burst_schedules_and_checks(
    queued_services: Services, status_server: StatusServer
) -> None:
    status_server.rooms["a"] = room("a", state="ended")
    space_id = add_space(
        queued_services, "http://rooms.test/s/a", status_url=status_server.status_url("a")
    )
    run_worker(queued_services.config, burst=True)
    with queued_services.catalog.session() as session:
        assert session.get(Space, space_id).state == "ended"
    assert status_server.requests == ["/api/rooms/a"]
    assert queued_services.redis.get(SCHEDULER_LOCK) is None


def test_every_worker_takes_the_schedules_ticks_whatever_its_queues(
    queued_services: Services,
) -> None:
    ticks = queues.queue(queued_services, queues.SCHEDULE)
    tick = ticks.enqueue("worker.jobs.schedule_sources")
    run_worker(queued_services.config, [queues.CRAWL], scheduler=False, burst=True)
    assert tick.get_status(refresh=True) == JobStatus.FINISHED
    assert len(ticks) == 0


@pytest.mark.slow
def test_python_m_worker_stops_cleanly_on_sigterm(queued_services: Services, redis_client) -> None:
    config = queued_services.config
    url = getattr(redis_client, "socket_file", None)
    redis_url = embedded_redis_url(redis_client) if url else REDIS_URL
    env = {**os.environ, **config.child_env(), "SPACES_REDIS_URL": redis_url}
    child = subprocess.Popen(
        [sys.executable, "-m", "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not (Worker.all(connection=redis_client) and redis_client.get(SCHEDULER_LOCK)):
            assert child.poll() is None, child.stderr.read()
            assert time.monotonic() < deadline, "worker did not start in 20 s"
            time.sleep(0.1)
        child.send_signal(signal.SIGTERM)
        assert child.wait(timeout=30) == 0  # a busy machine finishes the current job slowly
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    assert Worker.all(connection=redis_client) == []
    assert redis_client.get(SCHEDULER_LOCK) is None


class SignalledWhileStarting(HeartbeatWorker):
    """A worker sent SIGTERM just after it is registered, before it works any queue."""

    def register_birth(self) -> None:
        super().register_birth()
        os.kill(os.getpid(), signal.SIGTERM)


def test_a_stop_sent_while_the_worker_starts_stops_it_cleanly(
    queued_services: Services, redis_client
) -> None:
    previous = signal.getsignal(signal.SIGTERM)
    try:
        worker = SignalledWhileStarting(
            [queues.queue(queued_services, queues.CRAWL)], connection=redis_client, ttl_s=30
        )
        assert worker.work(burst=False) is False  # not blocked waiting for jobs
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert Worker.all(connection=redis_client) == []
