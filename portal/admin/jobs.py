"""Admin jobs the worker runs: rebuilding the search index from the catalog."""

from __future__ import annotations

import logging

from rq.job import Job

from portal.services import Services

log = logging.getLogger(__name__)

REINDEX_TIMEOUT_S = 3600


def reindex() -> int:
    """Rebuild the search index from the catalog and return how many spaces it holds."""
    from worker import context

    count = context.services().sync.reindex_all()
    log.info("reindexed %d spaces", count)
    return count


def enqueue_reindex(services: Services) -> Job | None:
    """Queue a reindex on the crawl queue; None if one is already queued or running."""
    from worker.queues import CRAWL, enqueue_once, queue

    return enqueue_once(
        queue(services, CRAWL), reindex, [], "admin-reindex", timeout=REINDEX_TIMEOUT_S
    )
