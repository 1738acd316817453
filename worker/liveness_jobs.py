"""Liveness jobs: find due spaces, check them in batches, record the results, prune the log."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta

from rq import get_current_job
from sqlalchemy import select

from core import metrics
from core.catalog.checks import prune_checks, record_observations
from core.catalog.models import Space
from core.catalog.notifications import announce_missed
from core.catalog.spaces import defer_checks, due_space_ids
from core.platforms import registry
from core.platforms.base import Probe
from core.queues import LIVENESS_TIMEOUT_S, enqueue_liveness_batch
from core.timeutil import utcnow
from worker import context, liveness

log = logging.getLogger(__name__)

BATCH_SIZE = 200
MAX_DUE_PER_TICK = 20_000
# Queued spaces are held for a lease of a few intervals: long enough for a healthy
# queue to reach them, short enough that a batch lost with its worker (kill -9)
# comes due again soon. Never longer than a job may run, twice over.
LEASE_INTERVALS = 4
MIN_LEASE_S = 5.0
# A space no platform can check here (an X Space without an API token): look much later.
UNCHECKABLE_RECHECK = timedelta(hours=1)
# Deferred checks whose platform named no time to resume at wait this long.
RETRY_LATER = timedelta(minutes=1)


def lease(interval_s: float) -> timedelta:
    """Return how long a queued space is held before it counts as due again."""
    seconds = max(MIN_LEASE_S, LEASE_INTERVALS * interval_s)
    return timedelta(seconds=min(seconds, LIVENESS_TIMEOUT_S * 2))


def schedule_liveness() -> int:
    """Queue liveness checks of every due space in batches; return how many batches."""
    services = context.services()
    now = utcnow()
    with services.catalog.session() as session:
        ids = due_space_ids(session, now=now, limit=MAX_DUE_PER_TICK)
        defer_checks(session, ids, now + lease(services.config.live_check_interval_s))
    queued = 0
    for start in range(0, len(ids), BATCH_SIZE):
        if enqueue_liveness_batch(services, ids[start : start + BATCH_SIZE]) is not None:
            queued += 1
    if ids:
        log.info("%d spaces due, %d liveness batches queued", len(ids), queued)
    return queued


def check_spaces(space_ids: Sequence[int]) -> dict[str, int]:
    """Check the liveness of these spaces and record what was seen; safe to run twice."""
    services = context.services()
    config = services.config
    job = get_current_job()
    # A space checked after this job was queued was checked by a twin of this job.
    since = job.enqueued_at if job is not None else None
    counts = {"checked": 0, "changed": 0, "failed": 0, "skipped": 0, "deferred": 0}
    probes: list[Probe] = []
    unchecked: list[int] = []
    with services.catalog.session() as session:
        # Only the columns a probe needs: loading whole spaces here would be done twice.
        rows = session.execute(
            select(
                Space.id, Space.platform, Space.url, Space.status_url, Space.last_checked_at
            ).where(Space.id.in_(list(space_ids)))
        )
        for space in rows:
            probe = registry.get(space.platform).probe(space, config)
            if since is not None and space.last_checked_at and space.last_checked_at >= since:
                counts["skipped"] += 1
            elif probe is None:
                unchecked.append(space.id)
            else:
                probes.append(probe)
        defer_checks(session, unchecked, utcnow() + UNCHECKABLE_RECHECK)
    counts["skipped"] += len(unchecked)
    observed_at = utcnow()
    # The network round trips happen outside any database transaction.
    outcome = liveness.probe_all(probes, config, services.redis)
    how = {probe.space_id: probe.how for probe in probes}
    tally: Counter[tuple[str, str]] = Counter()
    with services.catalog.session() as session:
        changes = record_observations(
            session, outcome.observations, interval_s=config.live_check_interval_s, now=observed_at
        )
        for space_id, changed in changes.items():
            observation = outcome.observations[space_id]
            ok = observation.state is not None
            counts["checked"] += 1
            counts["changed"] += changed
            counts["failed"] += not ok
            tally[how[space_id], "ok" if ok else "failed"] += 1
        if outcome.deferred:
            # Rate limited: not the spaces' fault, so no failure; ask again after the reset.
            resume = outcome.resume_at or utcnow() + RETRY_LATER
            defer_checks(session, outcome.deferred, resume)
    counts["deferred"] = len(outcome.deferred)
    for space_id in outcome.deferred:
        tally[how[space_id], "deferred"] += 1
    metrics.count_checks(services.redis, tally)
    return counts


def prune_space_checks() -> int:
    """Delete old entries of the per-space check log; return how many went."""
    services = context.services()
    with services.catalog.session() as session:
        removed = prune_checks(session, utcnow())
    if removed:
        log.info("pruned %d old liveness checks", removed)
    return removed


def announce_missed_lives() -> int:
    """Deliver the notifications of spaces whose going live was not announced; return how many.

    The announcement of a change to live is committed after the change itself: a worker
    killed between the two would lose it, since a rerun of its job sees no change.
    """
    services = context.services()
    with services.catalog.session() as session:
        return announce_missed(session, utcnow())
