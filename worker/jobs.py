"""The worker's jobs: they take ids, reload what they need, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from portal.catalog.models import Source
from portal.catalog.sources import defer_sources, due_sources, get_source_by_url, record_source_run
from portal.config import Config
from portal.timeutil import utcnow
from worker import context
from worker.liveness_jobs import check_spaces, prune_space_checks, schedule_liveness
from worker.queues import CRAWL_TIMEOUT_S, enqueue_source_crawl

log = logging.getLogger(__name__)

# The liveness jobs live in worker.liveness_jobs; named here too, as the worker's jobs.
__all__ = ["check_spaces", "prune_space_checks", "schedule_liveness"]

# Queued work holds its sources this long; if the job is lost they come back.
SOURCE_LEASE = timedelta(seconds=CRAWL_TIMEOUT_S + 60)


def crawl_source(source_id: int) -> dict[str, Any] | None:
    """Crawl source `source_id` now and record the run; None if it was removed or paused."""
    services = context.services()
    with services.catalog.session() as session:
        source = session.get(Source, source_id)
        if source is None or source.paused:
            return None
        url, depth = source.url, source.depth
    return _crawl_and_record(services.config, services.catalog, url, depth, source_id)


def crawl_url(url: str) -> dict[str, Any]:
    """Crawl one URL (a ping or a submission) and record the run if it is also a source."""
    services = context.services()
    with services.catalog.session() as session:
        try:
            source = get_source_by_url(session, url)
        except ValueError:
            source = None  # not a web URL: the crawler refuses it and says why
        source_id = source.id if source is not None else None
    return _crawl_and_record(services.config, services.catalog, url, 1, source_id)


def _crawl_and_record(
    config: Config, catalog: Any, url: str, depth: int, source_id: int | None
) -> dict[str, Any]:
    from crawler.run import crawl

    started = time.monotonic()
    error: Exception | None = None
    try:
        report = crawl([url], config, depth=depth)
    except Exception as failed:  # recorded on the source, then re-raised for RQ
        report, error = None, failed
    figures = crawl_figures(report)
    figures["duration_s"] = round(time.monotonic() - started, 3)
    if error is not None:
        figures["error"] = f"{type(error).__name__}: {error}"[:500]
    if source_id is not None:
        with catalog.session() as session:
            record_source_run(session, source_id, **figures)
    log.info("crawled %s: %s", url, figures)
    if error is not None:
        raise error
    return {"url": url, **figures}


def crawl_figures(report: Any) -> dict[str, Any]:
    """Read pages, spaces, errors and the first error message off a crawl report."""
    if report is None:
        return {"pages": 0, "spaces": 0, "errors": 1, "error": ""}

    def number(*names: str) -> int:
        for name in names:
            value = getattr(report, name, None)
            if isinstance(value, int):
                return value
            if isinstance(value, list | tuple | set | dict):
                return len(value)
        return 0

    messages = getattr(report, "error_messages", None) or getattr(report, "errors", None)
    first = str(messages[0]) if isinstance(messages, list | tuple) and messages else ""
    return {
        "pages": number("pages", "pages_crawled"),
        "spaces": number("spaces", "spaces_found"),
        "errors": number("errors", "error_count"),
        "error": first[:500],
    }


def schedule_sources() -> int:
    """Queue a crawl of every due source and hold them until it runs; return how many."""
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        ids = [source.id for source in due_sources(session, now)]
        defer_sources(session, ids, now + SOURCE_LEASE)
    queued = sum(enqueue_source_crawl(services, source_id) is not None for source_id in ids)
    if ids:
        log.info("%d sources due, %d crawls queued", len(ids), queued)
    return queued
