"""The worker's jobs: they take ids, reload what they need, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from core.catalog.db import Catalog
from core.catalog.hosting import attach_room_hosts, record_submission_outcome
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
    """Crawl one URL (a ping or a submission) and record the run if it is also a source.

    Hosts' submissions of this URL made before the crawl began get its outcome: the
    spaces found, nothing, or why it failed.
    """
    services = context.services()
    began = utcnow()
    with services.catalog.session() as session:
        try:
            source = get_source_by_url(session, url)
        except ValueError:
            source = None  # not a web URL: the crawler refuses it and says why
        source_id = source.id if source is not None else None
    try:
        result = _crawl_and_record(services.config, services.catalog, url, 1, source_id)
    except Exception as error:
        _settle_submissions(services.catalog, url, [], _reason(str(error)), began)
        raise
    reason = "" if result["spaces"] else _reason(result.get("refused") or result["error"])
    _settle_submissions(services.catalog, url, result["space_urls"], reason, began)
    return result


def _reason(message: str) -> str:
    # The crawler prefixes messages with the URL they concern; the host knows which.
    head, sep, tail = message.partition(": ")
    return tail if sep and head.startswith(("http://", "https://")) else message


def _settle_submissions(
    catalog: Catalog, url: str, found: list[str], reason: str, began: datetime
) -> None:
    with catalog.session() as session:
        record_submission_outcome(session, url, found=found, reason=reason, since=began)


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
    found = [space["url"] for space in report.spaces] if report is not None else []
    with catalog.session() as session:
        if source_id is not None:
            record_source_run(session, source_id, **figures)
        # Rooms opened from the portal are listed under their host's handle of today.
        attach_room_hosts(session, share_urls=found)
    log.info("crawled %s: %s", url, figures)
    if error is not None:
        raise error
    refused = report.refused_messages[0] if report is not None and report.refused_messages else ""
    return {"url": url, **figures, "space_urls": found, "refused": refused[:500]}


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
