"""Run a worker over the queues, with the periodic schedule when this process leads."""

from __future__ import annotations

import logging
import signal
import threading
import uuid

import redis
from redis.lock import Lock
from rq import SimpleWorker
from rq.cron import CronScheduler

from core.config import Config
from core.queues import ALL_QUEUES, SCHEDULE, SCHEDULE_TIMEOUT_S, queue
from worker import context, jobs, liveness_jobs

log = logging.getLogger(__name__)

# Due spaces wait for the next tick: a short tick keeps "ended" visible within
# an interval and a couple of seconds. A tick is one indexed query.
LIVENESS_EVERY_S = 2
SOURCES_EVERY_S = 10
PRUNE_EVERY_S = 600
SCHEDULER_LOCK = "spaces:worker:scheduler"
LOCK_TTL_S = 30


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
    current job and stop; a second one stops at once.
    """
    services = context.ensure(config)
    names = [SCHEDULE, *(name for name in queues or ALL_QUEUES if name != SCHEDULE)]
    worker = SimpleWorker([queue(services, name) for name in names], connection=services.redis)
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
