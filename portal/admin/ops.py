"""Figures for the operations page: queues and failed jobs, liveness, crawls, the index."""

from __future__ import annotations

import logging
from typing import Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import FailedJobRegistry
from sqlalchemy import func, select

from core.catalog.models import Source, Space
from core.metrics import snapshot
from core.queues import ALL_QUEUES, queue
from core.search.base import SearchQuery
from core.services import Services
from core.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_FAILED_SHOWN = 10


def _failed_jobs(services: Services, name: str) -> list[dict[str, str]]:
    registry = FailedJobRegistry(name, connection=services.redis)
    jobs = []
    for job_id in registry.get_job_ids(0, MAX_FAILED_SHOWN - 1):
        try:
            job = Job.fetch(job_id, connection=services.redis)
        except NoSuchJobError:
            continue  # it expired between listing and fetching
        result = job.latest_result()
        error = (result.exc_string if result is not None else "") or ""
        lines = [line for line in error.strip().splitlines() if line.strip()]
        jobs.append(
            {
                "id": job_id,
                "description": job.description or job.func_name or "",
                "error": lines[-1] if lines else "",
            }
        )
    return jobs


def _own_snapshot(services: Services) -> dict[str, Any]:
    """Compute the liveness lag and queue lengths here, when the worker's metrics fail."""
    now = utcnow()
    with services.catalog.sessions() as session:
        oldest = session.scalar(
            select(func.min(Space.next_check_at)).where(Space.next_check_at <= now)
        )
    return {
        "schedule_lag_s": round((now - oldest).total_seconds(), 3) if oldest else 0.0,
        "checks_per_s": "?",
        "live_stale": "?",
        "live_unverified": "?",
        "queues": {
            name: {"queued": queue(services, name).count, "started": "?"} for name in ALL_QUEUES
        },
    }


def _liveness(services: Services) -> dict[str, Any]:
    try:
        return snapshot(services)
    except redis.RedisError:
        raise
    except Exception:
        # The figures page must still show queues when the metrics code has a fault.
        log.exception("core.metrics.snapshot failed; computing the basic figures here")
        return _own_snapshot(services)


def queue_figures(services: Services) -> dict[str, Any]:
    """Return liveness and queue figures, or the reason they cannot be read."""
    try:
        figures = _liveness(services)
        for name in ALL_QUEUES:
            registry = FailedJobRegistry(name, connection=services.redis)
            figures["queues"][name]["failed"] = registry.count
            figures["queues"][name]["failed_jobs"] = _failed_jobs(services, name)
        return figures
    except redis.RedisError as error:
        log.warning("queue figures unavailable: %s", error)
        return {"error": f"Redis is not reachable ({error}); queue figures are unavailable"}


def crawl_figures(services: Services) -> dict[str, Any]:
    """Return the sources' last crawl figures and the overall pages per minute."""
    with services.catalog.sessions() as session:
        sources = list(session.scalars(select(Source).order_by(Source.id)))
    pages = sum(s.last_pages for s in sources)
    seconds = sum(s.last_duration_s for s in sources)
    return {
        "sources": len(sources),
        "paused": sum(1 for s in sources if s.paused),
        "failing": sum(1 for s in sources if s.last_error),
        "pages_per_min": round(pages / seconds * 60, 1) if seconds else 0.0,
        "spaces_last_runs": sum(s.last_spaces for s in sources),
    }


def index_figures(services: Services) -> dict[str, Any]:
    """Return the search backend's name and document count beside the catalog's count."""
    with services.catalog.sessions() as session:
        visible = session.scalar(select(func.count()).where(Space.hidden.is_(False))) or 0
    try:
        indexed: int | None = services.search.search(SearchQuery(per_page=1)).total
    except Exception as error:  # noqa: BLE001 - the page reports a broken index, not a 500
        log.warning("index count failed: %s", error)
        indexed = None
    return {
        "backend": getattr(services.search, "name", type(services.search).__name__),
        "indexed": indexed,
        "catalog": int(visible),
        "in_step": indexed == visible,
    }
