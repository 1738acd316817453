"""The worker's queues, and enqueueing that runs the same work once however often it is asked.

Every part enqueues jobs here, by the dotted name of the worker's function (RQ imports
it in the worker process), so nothing but the worker imports the worker.

No job is lost: every job is enqueued with a `Retry`, so one that raises, or whose
worker died under it (SIGKILL, power loss: RQ finds it "abandoned" once its execution's
heartbeat expires, see worker/run.py), runs again after a short wait. Jobs are
idempotent, so a run repeated after one that got further than it seemed does no harm.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import redis
from rq import Queue, Retry
from rq.exceptions import DuplicateJobError, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry


class Services(Protocol):
    """What enqueueing needs of a process's services (core.services.Services): Redis.

    Only that, so the services may enqueue without this module depending on them.
    """

    @property
    def redis(self) -> redis.Redis: ...


log = logging.getLogger(__name__)

SCHEDULE = "schedule"  # the periodic schedule's ticks: every worker takes these first
CRAWL_NOW = "crawl-now"  # pings and host submissions: ahead of scheduled work
LIVENESS = "liveness"
CRAWL = "crawl"  # scheduled crawls of sources, and admin jobs such as a reindex
NOTIFY = "notify"  # delivery of notices by push and email, in short batches
#: The order a worker takes jobs in when it serves every queue.
ALL_QUEUES = (SCHEDULE, CRAWL_NOW, LIVENESS, NOTIFY, CRAWL)

#: The worker's jobs, by dotted name.
CRAWL_URL_JOB = "worker.jobs.crawl_url"
CRAWL_SOURCE_JOB = "worker.jobs.crawl_source"
CRAWL_SOURCES_JOB = "worker.jobs.crawl_sources"
CHECK_SPACES_JOB = "worker.liveness_jobs.check_spaces"
POLL_SOURCES_JOB = "worker.jobs.poll_sources"
REINDEX_JOB = "worker.jobs.reindex_search"
WEBSUB_SUBSCRIBE_JOB = "worker.websub.subscribe_source"
WEBSUB_PUSH_JOB = "worker.websub.take_pushed_feed"
DELIVER_JOB = "worker.delivery.deliver"
DISPATCH_JOB = "worker.delivery.dispatch_notifications"

REINDEX_TIMEOUT_S = 3600

CRAWL_TIMEOUT_S = 900
WEBSUB_TIMEOUT_S = 60
DELIVER_TIMEOUT_S = 300
LIVENESS_TIMEOUT_S = 120
SCHEDULE_TIMEOUT_S = 60
RESULT_TTL_S = 600
FAILURE_TTL_S = 86_400

#: How often, and after how many seconds each, a failed or abandoned job runs again. The
#: first wait is short, since a killed worker is the usual cause and any other worker
#: can take the job at once; later ones back off in case the job itself is at fault.
#: A retried job keeps its id, so while it waits (status "scheduled") asking for the same
#: work again adds nothing; once its retries are spent it is "failed", and asking again
#: starts afresh (enqueue_once clears the failed record).
RETRY = Retry(max=4, interval=[1, 10, 60, 300])
#: Liveness batches: a later schedule tick queues the same spaces again anyway.
LIVENESS_RETRY = Retry(max=2, interval=[1, 10])

# Statuses in which a job with our id is still to run: asking again must not add another.
_PENDING = frozenset(
    {
        JobStatus.CREATED,
        JobStatus.QUEUED,
        JobStatus.DEFERRED,
        JobStatus.SCHEDULED,
        JobStatus.RATE_LIMITED,
        JobStatus.READY_TO_ENQUEUE,
    }
)


def queue(services: Services, name: str) -> Queue:
    """Return the RQ queue called `name` on the services' Redis."""
    if name not in ALL_QUEUES:
        raise ValueError(f"unknown queue {name!r}; the worker serves {', '.join(ALL_QUEUES)}")
    return Queue(name, connection=services.redis)


def digest(text: str) -> str:
    """Return a short stable fingerprint of `text` for use in job ids."""
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def enqueue_once(
    q: Queue,
    func: str,
    args: Sequence[Any],
    job_id: str,
    *,
    timeout: int,
    again_while_running: bool = False,
    description: str = "",
    retry: Retry = RETRY,
) -> Job | None:
    """Enqueue the job named `func` with `args` as `job_id` unless it is still pending.

    Return the new job, or None when one with that id is pending already.

    A job that is running counts as pending too, unless `again_while_running`: then one
    follow-up may wait behind it (what it is working on may have changed meanwhile).
    A job waiting to be retried is pending: its retry does the work asked for.
    """
    ids = [job_id, f"{job_id}-next"] if again_while_running else [job_id]
    for candidate in ids:
        # Twice: once as asked, once more after clearing a finished job's leftover record.
        for _attempt in range(2):
            try:
                return q.enqueue_call(
                    func,
                    args=tuple(args),
                    job_id=candidate,
                    unique=True,  # atomic in Redis: concurrent callers cannot both win
                    timeout=timeout,
                    result_ttl=RESULT_TTL_S,
                    failure_ttl=FAILURE_TTL_S,
                    description=description or None,
                    retry=retry,
                )
            except DuplicateJobError:
                status = _status(q, candidate)
            if status == JobStatus.SCHEDULED:
                # Waiting out a retry's back-off: asked again, it runs now instead.
                promote(q, candidate)
                return None
            if status in _PENDING:
                return None
            if status == JobStatus.STARTED:
                break  # try the follow-up id, if there is one
            if status is not None:
                # Done (finished, failed, stopped): its record must not block new work.
                _delete(q, candidate)
    return None


def promote(q: Queue, job_id: str) -> bool:
    """Move a job waiting in `q`'s scheduled registry onto the queue now; say if it moved.

    Taking it out of the registry is the claim: of two callers only one moves it.
    """
    if not _scheduled(q).remove(job_id):
        return False
    try:
        job = Job.fetch(job_id, connection=q.connection)
    except NoSuchJobError:
        return False  # expired while it waited: whoever wants the work asks again
    q.enqueue_job(job)
    return True


def requeue_due_retries(q: Queue) -> int:
    """Queue the jobs of `q` whose retry back-off is over; return how many.

    RQ parks a failed or abandoned job that has retries left in the queue's scheduled
    registry; our workers run no RQ scheduler process, so the periodic schedule calls this.
    """
    due = _scheduled(q).get_jobs_to_schedule()
    return sum(promote(q, job_id) for job_id in due)


def _scheduled(q: Queue) -> ScheduledJobRegistry:
    registry: ScheduledJobRegistry = q.scheduled_job_registry
    return registry


def _status(q: Queue, job_id: str) -> JobStatus | None:
    try:
        return Job.fetch(job_id, connection=q.connection).get_status(refresh=False)
    except NoSuchJobError:
        return None


def _delete(q: Queue, job_id: str) -> None:
    with contextlib.suppress(NoSuchJobError):
        Job.fetch(job_id, connection=q.connection).delete()


def enqueue_url_crawl(services: Services, url: str, *, reason: str) -> Job | None:
    """Queue a crawl of one URL ahead of scheduled work; None if it is already queued."""
    job = enqueue_once(
        queue(services, CRAWL_NOW),
        CRAWL_URL_JOB,
        [url],
        f"crawl-url-{digest(url)}",
        timeout=CRAWL_TIMEOUT_S,
        again_while_running=True,
        description=f"crawl {url[:200]} ({reason[:60]})",
    )
    log.info("crawl of %s (%s): %s", url, reason, "queued" if job else "already queued")
    return job


def enqueue_source_crawl(services: Services, source_id: int) -> Job | None:
    """Queue a scheduled crawl of source `source_id`; None if one is queued or running."""
    return enqueue_once(
        queue(services, CRAWL),
        CRAWL_SOURCE_JOB,
        [source_id],
        f"crawl-source-{source_id}",
        timeout=CRAWL_TIMEOUT_S,
    )


def enqueue_source_crawls(services: Services, source_ids: Sequence[int]) -> Job | None:
    """Queue one crawl of these web sources together; the same ids queued again run once."""
    return _enqueue_sources(services, CRAWL_SOURCES_JOB, "crawl-sources", source_ids)


def enqueue_source_polls(services: Services, source_ids: Sequence[int]) -> Job | None:
    """Queue one poll of these API sources together; the same ids queued again run once."""
    return _enqueue_sources(services, POLL_SOURCES_JOB, "poll-sources", source_ids)


def _enqueue_sources(
    services: Services, func: str, prefix: str, source_ids: Sequence[int]
) -> Job | None:
    ids = sorted(set(source_ids))
    return enqueue_once(
        queue(services, CRAWL),
        func,
        [ids],
        f"{prefix}-{digest(','.join(map(str, ids)))}",
        timeout=CRAWL_TIMEOUT_S,
    )


def enqueue_liveness_batch(services: Services, space_ids: Sequence[int]) -> Job | None:
    """Queue one liveness batch; the same ids queued again while pending run once.

    A batch whose job still shows as started may have lost its worker (kill -9): its
    record stays "started" until its heartbeat expires and it is retried, so one
    follow-up may queue behind it. A follow-up whose spaces were checked meanwhile
    skips them.
    """
    ids = sorted(set(space_ids))
    return enqueue_once(
        queue(services, LIVENESS),
        CHECK_SPACES_JOB,
        [ids],
        f"liveness-{digest(','.join(map(str, ids)))}",
        timeout=LIVENESS_TIMEOUT_S,
        again_while_running=True,
        retry=LIVENESS_RETRY,
    )


def enqueue_reindex(services: Services) -> Job | None:
    """Queue a rebuild of the search index; None if one is already queued or running."""
    return enqueue_once(
        queue(services, CRAWL), REINDEX_JOB, [], "admin-reindex", timeout=REINDEX_TIMEOUT_S
    )


def enqueue_websub_subscribe(services: Services, source_id: int) -> Job | None:
    """Queue a WebSub subscription request for source `source_id`; None if one is pending."""
    return enqueue_once(
        queue(services, CRAWL),
        WEBSUB_SUBSCRIBE_JOB,
        [source_id],
        f"websub-subscribe-{source_id}",
        timeout=WEBSUB_TIMEOUT_S,
    )


def enqueue_pushed_feed(services: Services, source_id: int, body_key: str) -> Job | None:
    """Queue the reading of a feed a hub pushed (held in Redis at `body_key`), ahead of polls.

    The same body pushed again while the first is queued is read once.
    """
    return enqueue_once(
        queue(services, CRAWL_NOW),
        WEBSUB_PUSH_JOB,
        [source_id, body_key],
        f"websub-push-{digest(body_key)}",
        timeout=WEBSUB_TIMEOUT_S,
    )


def enqueue_batches(services: Services, name: str, func: str, ids: Sequence[int], size: int) -> int:
    """Queue `func` on queue `name` once per batch of `size` ids, in one round trip.

    A batch's job id is its ids' fingerprint: the same batch asked for again while it
    waits is not queued twice. Return how many batches were queued.
    """
    if not ids:
        return 0
    q = queue(services, name)
    batches = [list(ids[start : start + size]) for start in range(0, len(ids), size)]
    jobs = [
        Queue.prepare_data(
            func,
            args=(batch,),
            job_id=f"{func.rsplit('.', 1)[-1]}-{digest(','.join(map(str, batch)))}",
            timeout=DELIVER_TIMEOUT_S,
            result_ttl=RESULT_TTL_S,
            failure_ttl=FAILURE_TTL_S,
            retry=RETRY,
        )
        for batch in batches
    ]
    q.enqueue_many(jobs)
    return len(batches)


def enqueue_dispatch(services: Services) -> Job | None:
    """Ask for new notices to be handed to delivery jobs now, not at the next schedule tick.

    One dispatch waits at most, plus one behind a running one (it may have read the
    notices before these were written).
    """
    return enqueue_once(
        queue(services, SCHEDULE),
        DISPATCH_JOB,
        (),
        "dispatch-notifications",
        timeout=SCHEDULE_TIMEOUT_S,
        again_while_running=True,
        description="hand new notices to delivery",
    )
