"""The worker's jobs: they take ids, reload what they need, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from core.catalog.db import Catalog
from core.catalog.hosting import attach_room_hosts, record_submission_outcome
from core.catalog.models import Source
from core.catalog.sources import (
    API_KINDS,
    defer_sources,
    due_sources,
    get_source_by_url,
    record_source_run,
)
from core.config import Config
from core.queues import CRAWL_TIMEOUT_S, enqueue_source_crawl, enqueue_source_polls
from core.timeutil import utcnow
from worker import context
from worker.crawls import CrawlReport, crawl
from worker.crawls import poll_sources as poll_crawls

log = logging.getLogger(__name__)

# Queued work holds its sources this long; if the job is lost they come back.
SOURCE_LEASE = timedelta(seconds=CRAWL_TIMEOUT_S + 60)
#: API sources polled by one crawler process at a time.
POLL_BATCH = 200
#: Sources taken from the catalog per tick of the schedule.
MAX_DUE_PER_TICK = 2000


def crawl_source(source_id: int) -> dict[str, Any] | None:
    """Crawl source `source_id` now and record the run; None if it was removed or paused."""
    services = context.services()
    with services.catalog.session() as session:
        source = session.get(Source, source_id)
        if source is None or source.paused:
            return None
        url, depth, kind = source.url, source.depth, source.kind
    if kind in API_KINDS:
        return poll_sources([source_id]).get(source_id)
    return _crawl_and_record(services.config, services.catalog, url, depth, source_id, kind)


def poll_sources(source_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Poll these API sources together in one crawler process and record each outcome.

    Safe to run twice: a poll resumes from the cursor the last recorded one left, and
    landing a space or a sighting again changes nothing.
    """
    services = context.services()
    began = utcnow()  # the next poll is an interval after this one began
    with services.catalog.session() as session:
        specs: list[dict[str, Any]] = [
            {
                "url": source.url,
                "kind": source.kind,
                "query": source.query,
                "cursor": source.cursor,
                "id": source.id,
            }  # fmt: skip
            for source_id in source_ids
            if (source := session.get(Source, source_id)) is not None and not source.paused
        ]
    report = poll_crawls(specs, services.config)
    outcomes: dict[int, dict[str, Any]] = {}
    with services.catalog.session() as session:
        for polled in report.polled:
            source_id = polled.get("source")
            if source_id is None:
                continue
            record_source_run(
                session, source_id, pages=1, spaces=int(polled.get("spaces", 0)),
                errors=1 if polled.get("reason") else 0,
                duration_s=float(polled.get("duration_s", 0.0)),
                error=str(polled.get("error", "")), reason=str(polled.get("reason", "")),
                status=int(polled.get("status") or 0), cursor=polled.get("cursor"),
                retry_after_s=float(polled.get("retry_after_s") or 0.0), now=began,
            )  # fmt: skip
            outcomes[source_id] = polled
        # A source the crawler process never reported on (it died) is tried again later.
        for spec in specs:
            if spec["id"] not in outcomes:
                record_source_run(
                    session, int(spec["id"]), pages=0, spaces=0, errors=1, duration_s=0.0,
                    error=_first_error(report), reason="parse", now=began,
                )  # fmt: skip
        attach_room_hosts(session, share_urls=[space["url"] for space in report.spaces])
    log.info("polled %d sources: %d spaces", len(specs), len(report.spaces))
    return outcomes


def _first_error(report: CrawlReport) -> str:
    return report.error_messages[0] if report.error_messages else "the poll did not finish"


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
    started, began = time.monotonic(), utcnow()
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
        figures["reason"] = figures["reason"] or "parse"
    found = [space["url"] for space in report.spaces] if report is not None else []
    with catalog.session() as session:
        if source_id is not None:
            # The next run is an interval after this one began, not after it ended.
            record_source_run(session, source_id, now=began, **figures)
        # Rooms opened from the portal are listed under their host's handle of today.
        attach_room_hosts(session, share_urls=found)
    log.info("crawled %s: %s", url, figures)
    if error is not None:
        raise error
    refused = report.refused_messages[0] if report is not None and report.refused_messages else ""
    return {"url": url, **figures, "space_urls": found, "refused": refused[:500]}


def crawl_figures(report: CrawlReport | None) -> dict[str, Any]:
    """Read pages, spaces, errors, the first error message and the start URL's reason."""
    if report is None:
        return {"pages": 0, "spaces": 0, "errors": 1, "error": "", "reason": "", "status": 0}
    first = report.error_messages[0] if report.error_messages else ""
    if report.start_reason and not first:
        first = (report.refused_messages or [report.start_reason])[0]
    return {
        "pages": report.pages,
        "spaces": len(report.spaces),
        "errors": report.errors,
        "error": first[:500],
        "reason": report.start_reason,
        "status": report.start_status,
    }


def schedule_sources() -> int:
    """Queue a crawl of every due source and hold them until it runs; return how many.

    Web sources get a crawl each (Scrapy, in a process of its own); API sources are
    polled together, POLL_BATCH to a process.
    """
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        due = due_sources(session, now, limit=MAX_DUE_PER_TICK)
        crawls = [source.id for source in due if source.kind not in API_KINDS]
        polls = [source.id for source in due if source.kind in API_KINDS]
        defer_sources(session, crawls + polls, now + SOURCE_LEASE)
    queued = sum(enqueue_source_crawl(services, source_id) is not None for source_id in crawls)
    for start in range(0, len(polls), POLL_BATCH):
        queued += enqueue_source_polls(services, polls[start : start + POLL_BATCH]) is not None
    if due:
        log.info("%d sources due, %d jobs queued", len(due), queued)
    return queued


def reindex_search() -> int:
    """Rebuild the search index from the catalog and return how many spaces it holds."""
    count = context.services().sync.reindex_all()
    log.info("reindexed %d spaces", count)
    return count
