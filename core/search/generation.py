"""The index generation: a counter in Redis that says cached search answers are stale.

Every process that writes the search index bumps it after a change that must show at
once (a space hidden, deleted or featured); the portal's response cache serves an
entry only while the generation it was rendered at is still the current one.
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger(__name__)

GENERATION_KEY = "spaces:index:generation"


def current_generation(client: redis.Redis) -> int:
    """Return the index generation now (0 before the first bump)."""
    return int(client.get(GENERATION_KEY) or 0)


def bump_generation(client: redis.Redis) -> None:
    """Say that the index changed, so every cached response made before is stale."""
    try:
        client.incr(GENERATION_KEY)
    except redis.RedisError:
        # Entries still expire within the TTL; a failed bump only delays a change that long.
        log.exception("could not bump the index generation; cached pages may lag a TTL")
