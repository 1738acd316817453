"""The worker's jobs: they take ids, reload what they need, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

from core.catalog.db import Catalog
from core.catalog.models import Source
from core.catalog.sources import defer_sources, due_sources, get_source_by_url, record_source_run
from core.config import Config
from core.queues import CRAWL_TIMEOUT_S, enqueue_source_crawl
from core.timeutil import utcnow
from worker import context
from worker.crawls import CrawlReport, crawl

log = logging.getLogger(__name__)

# Queued work holds its sources this long; if the job is lost they come back.
SOURCE_LEASE = timedelta(seconds=CRAWL_TIMEOUT_S + 60)


def crawl_source(source_id: int) -> dict[str, Any] | None:
    """Crawl source `source_id` now and record the run; None if it was removed or paused."""
    services = context.services()
    with services.catalog.session() as session:
        source = session.get(Source, source_id)
        if source is None or source.paused:
            return None
        url, depth, kind = source.url, source.depth, source.kind
    return _crawl_and_record(services.config, services.catalog, url, depth, source_id, kind)


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
    config: Config,
    catalog: Catalog,
    url: str,
    depth: int,
    source_id: int | None,
    kind: str = "page",
) -> dict[str, Any]:
    started = time.monotonic()
    error: Exception | None = None
    report: CrawlReport | None = None
    try:
        report = crawl([url], config, depth=depth, kind=kind)
    except Exception as failed:  # recorded on the source, then re-raised for RQ
        error = failed
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


def crawl_figures(report: CrawlReport | None) -> dict[str, Any]:
    """Read pages, spaces, errors and the first error message off a crawl report."""
    if report is None:
        return {"pages": 0, "spaces": 0, "errors": 1, "error": ""}
    first = report.error_messages[0] if report.error_messages else ""
    return {
        "pages": report.pages,
        "spaces": len(report.spaces),
        "errors": report.errors,
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


def reindex_search() -> int:
    """Rebuild the search index from the catalog and return how many spaces it holds."""
    count = context.services().sync.reindex_all()
    log.info("reindexed %d spaces", count)
    return count
