"""The worker's jobs: they take ids, reload what they need, and are safe to run twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from core.catalog.db import Catalog
from core.catalog.hosting import attach_room_hosts, record_submission_outcome
from core.catalog.models import Source
from core.catalog.sources import (
    API_KINDS,
    LINK_LIST_KINDS,
    defer_sources,
    due_sources,
    get_source_by_url,
    record_source_run,
)
from core.config import Config
from core.queues import (
    CRAWL_TIMEOUT_S,
    enqueue_source_crawl,
    enqueue_source_crawls,
    enqueue_source_polls,
)
from core.timeutil import utcnow
from worker import context
from worker.crawls import CrawlReport, SourceRun, run_crawl
from worker.crawls import poll_sources as poll_crawls

log = logging.getLogger(__name__)

# Queued work holds its sources this long; if the job is lost they come back.
SOURCE_LEASE = timedelta(seconds=CRAWL_TIMEOUT_S + 60)
#: API sources polled by one crawler process at a time.
POLL_BATCH = 200
#: Web sources crawled by one crawler process at a time.
CRAWL_BATCH = 25
#: Sources taken from the catalog per tick of the schedule.
MAX_DUE_PER_TICK = 2000
#: A crawl run again asks for its pages unconditionally: the run that died may have
#: noted a page as read (crawler.revisit) before landing its spaces, and a 304 for it
#: now would leave them out until the page changes.
RERUN_SETTINGS: dict[str, Any] = {"SPACES_REVISIT_ENABLED": False}


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
    results = _crawl_and_record(services.config, services.catalog, [(url, source_id)], depth, kind)
    return results[url]


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
        result = _crawl_and_record(services.config, services.catalog, [(url, source_id)], 1)[url]
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
    targets: Sequence[tuple[str, int | None]],
    depth: int,
    kind: str = "page",
) -> dict[str, dict[str, Any]]:
    """Crawl the (url, source id or None) targets in one crawler process; record each
    source's run and return what the crawl did for each URL."""
    urls = [url for url, _ in targets]
    started, began = time.monotonic(), utcnow()
    error: Exception | None = None
    report: CrawlReport | None = None
    settings = RERUN_SETTINGS if context.running_again() else None
    try:
        report = run_crawl(urls, config, depth=depth, kind=kind, settings=settings)
    except Exception as failed:  # recorded on the sources, then re-raised for RQ
        error = failed
    duration_s = round(time.monotonic() - started, 3)
    found = [space["url"] for space in report.spaces] if report is not None else []
    refused = report.refused_messages[0] if report is not None and report.refused_messages else ""
    results: dict[str, dict[str, Any]] = {}
    with catalog.session() as session:
        for url, source_id in targets:
            figures = {**crawl_figures(report, url), "duration_s": duration_s}
            if error is not None:
                figures["error"] = f"{type(error).__name__}: {error}"[:500]
                figures["reason"] = figures["reason"] or "parse"
            if source_id is not None:
                # The next run is an interval after this one began, not after it ended.
                record_source_run(session, source_id, now=began, **figures)
            mine = report.sources.get(url) if report is not None else None
            space_urls = [space for space in found if mine is not None and space in mine.spaces]
            results[url] = {
                "url": url,
                **figures,
                "space_urls": space_urls,
                "refused": refused[:500],
            }
            log.info("crawled %s: %s", url, figures)
        # Rooms opened from the portal are listed under their host's handle of today.
        attach_room_hosts(session, share_urls=found)
    if error is not None:
        raise error
    return results


def crawl_sources(source_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Crawl these web sources together in one crawler process and record each one's run.

    schedule_sources batches sources read alike (link lists, or pages) to one depth, so
    one process start serves them all. Safe to run twice: landing a space or a sighting
    again changes nothing. Return each crawled source's figures.
    """
    services = context.services()
    with services.catalog.session() as session:
        sources = [
            (source.url, source.id, source.depth, source.kind)
            for source_id in source_ids
            if (source := session.get(Source, source_id)) is not None and not source.paused
        ]
    if not sources:
        return {}
    depth, kind = max(depth for *_, depth, _ in sources), sources[0][3]
    targets = [(url, source_id) for url, source_id, *_ in sources]
    results = _crawl_and_record(services.config, services.catalog, targets, depth, kind)
    return {source_id: results[url] for url, source_id in targets}


def crawl_figures(report: CrawlReport | None, url: str) -> dict[str, Any]:
    """Read what a crawl did for start URL `url`: pages, spaces, errors, the first error
    message, and the start URL's HTTP status and reason code if it failed."""
    if report is None:
        return {"pages": 0, "spaces": 0, "errors": 1, "error": "", "reason": "", "status": 0}
    run = report.sources.get(url) or SourceRun()
    return {
        "pages": run.pages,
        "spaces": len(run.spaces),
        "errors": run.errors,
        "error": (run.error or (report.error_messages or [""])[0])[:500],
        "reason": run.reason,
        "status": run.status,
    }


def schedule_sources() -> int:
    """Queue a crawl of every due source and hold them until it runs; return how many.

    Web sources read alike (link lists, or pages, to one depth) are crawled together,
    CRAWL_BATCH to a Scrapy process, a lone one by itself; API sources are polled
    together, POLL_BATCH to a process.
    """
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        due = due_sources(session, now, limit=MAX_DUE_PER_TICK)
        alike: dict[tuple[bool, int], list[int]] = {}
        for source in due:
            if source.kind not in API_KINDS:
                key = (source.kind in LINK_LIST_KINDS, source.depth)
                alike.setdefault(key, []).append(source.id)
        polls = [source.id for source in due if source.kind in API_KINDS]
        defer_sources(session, [source.id for source in due], now + SOURCE_LEASE)
    queued = 0
    for ids in alike.values():
        for start in range(0, len(ids), CRAWL_BATCH):
            batch = ids[start : start + CRAWL_BATCH]
            if len(batch) == 1:
                queued += enqueue_source_crawl(services, batch[0]) is not None
            else:
                queued += enqueue_source_crawls(services, batch) is not None
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
