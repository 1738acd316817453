"""Check a batch of spaces for liveness concurrently, each through its own platform."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

import redis

from core.config import Config
from core.platforms import registry
from core.platforms.base import Checking, Outcome, Probe
from core.webfetch import Fetcher
from worker import httppool

TIMEOUT_S = 5.0


def probe_all(
    probes: Sequence[Probe],
    config: Config,
    connection: redis.Redis,
    *,
    timeout_s: float | None = None,
) -> Outcome:
    """Run `probes` concurrently and return what each found (never raises per probe)."""
    if not probes:
        return Outcome()
    return httppool.run(_probe_all(probes, config, connection, timeout_s or TIMEOUT_S))


async def _probe_all(
    probes: Sequence[Probe], config: Config, connection: redis.Redis, timeout_s: float
) -> Outcome:
    allow = tuple(config.crawl_allow)
    # The connector's limit bounds our concurrency; its pool keeps connections to each
    # site open from batch to batch. APIs an operator configured (the X API) are not
    # crawled input: no private-address guard, so a local server can stand in for them.
    checking = Checking(
        fetch=Fetcher(httppool.session(allow), allow, timeout_s),
        api=httppool.session(None),
        config=config,
        redis=connection,
        timeout_s=timeout_s,
    )
    by_platform: dict[str, list[Probe]] = defaultdict(list)
    for probe in probes:
        by_platform[probe.platform].append(probe)
    found = await asyncio.gather(
        *(registry.get(name).check(batch, checking) for name, batch in by_platform.items())
    )
    outcome = Outcome()
    for part in found:
        outcome.merge(part)
    return outcome
