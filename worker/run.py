"""Run a worker over the queues, with the periodic schedule when this process leads.

No job is lost with its worker. A running job keeps a heartbeat in Redis that expires
`Config.worker_ttl_s` after the worker last showed it was alive, and the leading
worker's schedule hands every job whose heartbeat expired (its worker was killed) to
RQ's abandoned-job handling, which queues it again while it has retries left
(core.queues.RETRY), and queues retries whose back-off is over.
"""

from __future__ import annotations

import logging
import signal
import threading
import uuid
from types import FrameType
from typing import Any

import redis
from redis.lock import Lock
from rq import Queue, SimpleWorker
from rq.cron import CronScheduler
from rq.executions import Execution
from rq.job import Job
from rq.worker import WorkerStatus

from core.config import Config
from core.queues import ALL_QUEUES, SCHEDULE, SCHEDULE_TIMEOUT_S, queue, requeue_due_retries
from worker import context, delivery, jobs, liveness_jobs, websub

log = logging.getLogger(__name__)

# Due spaces wait for the next tick: a short tick keeps "ended" visible within
# an interval and a couple of seconds. A tick is one indexed query.
LIVENESS_EVERY_S = 2
SOURCES_EVERY_S = 2  # a due source waits at most this long to be queued
PRUNE_EVERY_S = 600
ANNOUNCE_EVERY_S = 15
# New feed hubs are subscribed to within this long of being read; renewals come early.
WEBSUB_EVERY_S = 30
# Notices reach people's phones and inboxes within a few seconds of the event.
DISPATCH_EVERY_S = 2
REMINDERS_EVERY_S = 5
DIGESTS_EVERY_S = 60
SCHEDULER_LOCK = "spaces:worker:scheduler"
LOCK_TTL_S = 30
# RQ's own upkeep (a job lost between being taken off a queue and being started, old
# registry entries); abandoned jobs are found by the schedule's ticks, much sooner.
MAINTENANCE_EVERY_S = 60


class HeartbeatWorker(SimpleWorker):
    """A worker running jobs in its own process whose heartbeat lapses soon after it dies.

    RQ's SimpleWorker sets a job's heartbeat to last as long as the job may run (up to
    an hour) and never renews it, so a killed worker's job would sit "started" that
    long. Here the heartbeat lasts `ttl_s` and a thread renews it while the job runs.
    """

    def __init__(self, queues: list[Queue], *, connection: redis.Redis, ttl_s: int) -> None:
        super().__init__(
            queues,
            connection=connection,
            worker_ttl=ttl_s,
            maintenance_interval=MAINTENANCE_EVERY_S,
        )
        self.ttl_s = ttl_s

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        """Register the worker, taking a SIGINT/SIGTERM that comes meanwhile as a stop.

        RQ registers the worker and only then installs its signal handlers; a stop sent
        in between killed the process and left it registered, its lock held.
        """

        def stop_when_started(signum: int, frame: FrameType | None) -> None:
            self.log.info("Worker %s: stop requested while starting", self.name)
            self._stop_requested = True

        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, stop_when_started)
        super().bootstrap(*args, **kwargs)

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """Return how long a job's execution counts as alive without a new heartbeat."""
        return self.ttl_s

    def subscribe(self) -> None:
        """Listen for commands on this worker's channel, looking every second for a stop.

        RQ's own listener waits up to 60 s between looks; a worker told to stop while it
        waits (a burst run ending, a SIGTERM) was held up that long.
        """
        self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
        self.pubsub = self.connection.pubsub()
        self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
        self.pubsub_thread = self.pubsub.run_in_thread(  # type: ignore[assignment]
            sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler
        )

    def execute_job(self, job: Job, queue: Queue) -> None:
        """Run `job` here, renewing its heartbeat from a thread until it ends."""
        execution = self.prepare_execution(job)
        done = threading.Event()
        beat = threading.Thread(
            target=self._beat, args=(job, execution, done), name="spaces-heartbeat", daemon=True
        )
        beat.start()
        try:
            self.perform_job(job, queue, execution)
        finally:
            done.set()
            beat.join()
        self.set_state(WorkerStatus.IDLE)

    def _beat(self, job: Job, execution: Execution, done: threading.Event) -> None:
        # Three beats to a TTL: one late beat is no reason to run the job twice.
        while not done.wait(self.ttl_s / 3):
            try:
                self.maintain_heartbeats(job, execution)
            except redis.RedisError as error:
                log.warning("could not renew the heartbeat of job %s: %s", job.id, error)


def recover_abandoned(connection: redis.Redis) -> int:
    """Retry jobs whose worker died and queue retries that are due; return how many moved.

    A job whose execution's heartbeat expired is abandoned: RQ's started-registry
    cleanup queues it again while it has retries left, or records it as failed.
    """
    moved = 0
    for name in ALL_QUEUES:
        q = Queue(name, connection=connection)
        started = q.started_job_registry
        abandoned = len(started.get_expired_job_ids())
        if abandoned:
            log.warning("%d jobs of queue %s lost their worker; retrying them", abandoned, name)
            started.cleanup()
        moved += abandoned + requeue_due_retries(q)
    return moved


def build_cron(connection: redis.Redis) -> CronScheduler:
    """Return RQ's cron scheduler with the liveness and source schedules registered."""
    cron = CronScheduler(connection=connection, name=f"spaces-{uuid.uuid4().hex[:12]}")
    # On their own queue, which every worker takes first, so schedules run on time even
    # when thousands of liveness batches wait; a tick nobody ran in time is dropped
    # (ttl), since the next one does the same work.
    for func, every in (
        (liveness_jobs.schedule_liveness, LIVENESS_EVERY_S),
        (jobs.schedule_sources, SOURCES_EVERY_S),
        (liveness_jobs.prune_space_checks, PRUNE_EVERY_S),
        (liveness_jobs.announce_missed_lives, ANNOUNCE_EVERY_S),
        (websub.renew_subscriptions, WEBSUB_EVERY_S),
        (delivery.dispatch_notifications, DISPATCH_EVERY_S),
        (delivery.notify_due_reminders, REMINDERS_EVERY_S),
        (delivery.send_digests, DIGESTS_EVERY_S),
        (delivery.prune_sessions, PRUNE_EVERY_S),
    ):
        cron.register(
            func,
            queue_name=SCHEDULE,
            interval=every,
            job_timeout=SCHEDULE_TIMEOUT_S,
            result_ttl=60,
            ttl=every * 2,
        )
    return cron


class Scheduler:
    """Drive the cron schedule while holding a Redis lock, so one process schedules at a time."""

    def __init__(self, connection: redis.Redis) -> None:
        self.cron = build_cron(connection)
        self.lock = Lock(connection, SCHEDULER_LOCK, timeout=LOCK_TTL_S, thread_local=False)
        self.leading = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> float:
        """Enqueue what is due if this process leads; return how long to wait until next."""
        if self.leading:
            self.leading = bool(self.lock.reacquire())
            if not self.leading:
                log.warning("scheduler lock lost; another worker schedules now")
        else:
            self.leading = self.lock.acquire(blocking=False)
            if self.leading:
                log.info("this worker now runs the periodic schedule")
                self.cron.register_birth()
        if not self.leading:
            return LOCK_TTL_S / 3
        if self.cron.enqueue_jobs():
            self.cron.save()
        self.cron.heartbeat()
        recover_abandoned(self.cron.connection)
        return min(self.cron.calculate_sleep_interval(), LOCK_TTL_S / 3)

    def start(self) -> None:
        """Tick in a background thread until stop() is called."""
        self._thread = threading.Thread(target=self._loop, name="spaces-scheduler", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                wait = self.tick()
            except redis.RedisError:
                # Redis restarting is no reason to stop scheduling for good.
                log.exception("scheduler tick failed; trying again shortly")
                self.leading = False
                wait = LOCK_TTL_S / 3
            self._stop.wait(wait)

    def stop(self) -> None:
        """Stop ticking and hand the lock back so another worker can take over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self.leading:
            self.leading = False
            try:
                self.cron.register_death()
                self.lock.release()
            except (redis.RedisError, Exception) as error:  # the lock expires by itself
                log.warning("could not release the scheduler lock: %s", error)


def run_worker(
    config: Config,
    queues: list[str] | None = None,
    *,
    scheduler: bool = True,
    burst: bool = False,
) -> None:
    """Work the queues (all by default) until stopped or, in burst, idle.

    Every worker takes the schedule's ticks first, whichever queues it was given: they
    are short, and so run on time however long the other queues are.

    Jobs run in this process, one after another: liveness batches are many and short,
    and crawls already run Scrapy in a fresh subprocess. SIGINT/SIGTERM finish the
    current job and stop; a second one stops at once. A worker killed outright loses
    nothing: its job runs again elsewhere (see the module's docstring).
    """
    services = context.ensure(config)
    names = [SCHEDULE, *(name for name in queues or ALL_QUEUES if name != SCHEDULE)]
    worker = HeartbeatWorker(
        [queue(services, name) for name in names],
        connection=services.redis,
        ttl_s=config.worker_ttl_s,
    )
    schedule = Scheduler(services.redis) if scheduler else None
    if schedule is not None:
        # One tick now, so a burst run sees what is due at start.
        schedule.tick()
        if not burst:
            schedule.start()
    # RQ installs its own SIGINT/SIGTERM handlers; put the caller's back afterwards.
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker.work(burst=burst, logging_level="INFO")
    finally:
        if schedule is not None:
            schedule.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
