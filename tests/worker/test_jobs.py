import importlib
from datetime import timedelta

from rq import Queue
from rq.job import JobStatus
from rq.registry import FinishedJobRegistry

from core import queues
from core.catalog.models import Source, Space
from core.catalog.sources import add_source
from core.services import Services
from core.timeutil import utcnow
from tests.worker.conftest import StatusServer, add_space, room
from worker.jobs import schedule_sources
from worker.liveness_jobs import check_spaces, schedule_liveness
from worker.run import HeartbeatWorker


def work(services: Services, *names: str) -> None:
    """Run every queued job with a non-forking worker, then return."""
    qs = [Queue(name, connection=services.redis) for name in names or queues.ALL_QUEUES]
    HeartbeatWorker(qs, connection=services.redis, ttl_s=30).work(burst=True)


def seed(services: Services, server: StatusServer, count: int) -> list[int]:
    ids = []
    for n in range(count):
        server.rooms[f"r{n}"] = room(f"r{n}", listener_count=n)
        ids.append(
            add_space(services, f"http://rooms.test/s/r{n}", status_url=server.status_url(f"r{n}"))
        )
    return ids


def test_schedule_liveness_batches_and_defers(
    queued_services: Services, status_server: StatusServer
) -> None:
    ids = seed(queued_services, status_server, 3)
    assert schedule_liveness() == 1
    assert schedule_liveness() == 0, "queued spaces must not be picked twice"
    liveness = queues.queue(queued_services, queues.LIVENESS)
    [job] = liveness.jobs
    assert job.args == (sorted(ids),) and job.id.startswith("liveness-")

    work(queued_services)
    assert sorted(status_server.requests) == sorted(f"/api/rooms/r{n}" for n in range(3))
    with queued_services.catalog.session() as session:
        for n, space_id in enumerate(ids):
            space = session.get(Space, space_id)
            assert space.listener_count == n and space.last_checked_at is not None
            assert space.next_check_at > utcnow() + timedelta(seconds=20)


def test_same_batch_enqueued_twice_runs_once(
    queued_services: Services, status_server: StatusServer
) -> None:
    ids = seed(queued_services, status_server, 2)
    first = queues.enqueue_liveness_batch(queued_services, ids)
    assert first is not None
    assert queues.enqueue_liveness_batch(queued_services, list(reversed(ids))) is None
    work(queued_services)
    assert len(status_server.requests) == 2
    registry = FinishedJobRegistry(queues.LIVENESS, connection=queued_services.redis)
    assert registry.get_job_ids() == [first.id]

    # Once it has run, the same batch can be queued again (for the next round of checks).
    assert queues.enqueue_liveness_batch(queued_services, ids) is not None


def test_check_spaces_twice_checks_once(
    queued_services: Services, status_server: StatusServer
) -> None:
    ids = seed(queued_services, status_server, 2)
    # Two different jobs over the same spaces (say, a batch re-queued by hand).
    liveness = queues.queue(queued_services, queues.LIVENESS)
    liveness.enqueue(check_spaces, ids)
    twin = liveness.enqueue(check_spaces, ids)
    work(queued_services, queues.LIVENESS)
    assert len(status_server.requests) == 2
    assert twin.latest_result().return_value == {
        "checked": 0,
        "changed": 0,
        "failed": 0,
        "skipped": 2,
        "deferred": 0,
    }


def test_url_crawls_are_deduplicated_while_queued(queued_services: Services) -> None:
    url = "http://rooms.test/s/abc"
    job = queues.enqueue_url_crawl(queued_services, url, reason="ping")
    assert job is not None and job.origin == queues.CRAWL_NOW
    assert job.args == (url,)
    assert queues.enqueue_url_crawl(queued_services, url, reason="ping") is None
    other = queues.enqueue_url_crawl(queued_services, url + "x", reason="submission")
    assert other is not None and other.id != job.id
    assert len(queues.queue(queued_services, queues.CRAWL_NOW)) == 2


def test_a_ping_during_a_running_crawl_queues_one_follow_up(queued_services: Services) -> None:
    url = "http://rooms.test/s/abc"
    running = queues.enqueue_url_crawl(queued_services, url, reason="ping")
    running.set_status(JobStatus.STARTED)
    follow_up = queues.enqueue_url_crawl(queued_services, url, reason="ended")
    assert follow_up is not None and follow_up.id == f"{running.id}-next"
    assert queues.enqueue_url_crawl(queued_services, url, reason="ended") is None


def test_schedule_sources_queues_each_due_source_once(queued_services: Services) -> None:
    with queued_services.catalog.session() as session:
        due = add_source(session, "http://blog.test/")
        later = add_source(session, "http://later.test/", now=utcnow() + timedelta(hours=1))
    assert schedule_sources() == 1
    assert schedule_sources() == 0
    crawl = queues.queue(queued_services, queues.CRAWL)
    assert [j.id for j in crawl.jobs] == [f"crawl-source-{due.id}"]
    assert queues.enqueue_source_crawl(queued_services, due.id) is None
    with queued_services.catalog.session() as session:
        assert session.get(Source, due.id).next_run_at > utcnow() + timedelta(minutes=10)
        assert session.get(Source, later.id).next_run_at < utcnow() + timedelta(hours=2)


def test_unknown_queue_names_are_refused(queued_services: Services) -> None:
    import pytest

    with pytest.raises(ValueError, match="unknown queue"):
        queues.queue(queued_services, "default")


def test_the_jobs_others_enqueue_by_name_are_the_workers_functions() -> None:
    names = (queues.CRAWL_URL_JOB, queues.CRAWL_SOURCE_JOB, queues.CHECK_SPACES_JOB)
    for name in (*names, queues.REINDEX_JOB):
        module, _, function = name.rpartition(".")
        assert module.startswith("worker.") and callable(
            getattr(importlib.import_module(module), function)
        )
