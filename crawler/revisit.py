"""Conditional requests and adaptive revisits: fetch pages that rarely change rarely.

Every URL a crawl fetches goes this way: pages, feeds, sitemaps and the sitemaps an
index names, whether read as a source's start URL or followed from a link; robots.txt
alone keeps its own copies (crawler.robots). Each fetched URL keeps, in a Redis hash,
its ETag and Last-Modified, a hash of its body and a revisit interval. Requests carry
If-None-Match / If-Modified-Since; a 304, or a body identical to the last one, counts
as unchanged and doubles the interval (up to a day); a change halves it. A page linked
from elsewhere is skipped until its interval has passed. Start URLs (sources, pings,
submissions) are always asked for, since their own schedule says when; they still go
conditionally.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.typing import EncodableT, FieldT
from scrapy.exceptions import IgnoreRequest

from core.platforms.registry import canonical_url
from core.redisconn import as_text, connect
from crawler.politeness import ROBOTS_META
from crawler.settings import CONFIG_SETTING

log = logging.getLogger(__name__)

KEY_PREFIX = "spaces:crawl:page:"
MIN_INTERVAL_S = 300.0
MAX_INTERVAL_S = 86_400.0
# Unchanged pages stay remembered this long past their next visit, then are forgotten.
KEEP_S = 7 * 86_400


@dataclass
class PageState:
    """What the last fetch of one URL left behind."""

    etag: str = ""
    last_modified: str = ""
    digest: str = ""
    interval_s: float = 0.0
    next_at: float = 0.0


def next_interval(previous: float, unchanged: bool) -> float:
    """Return the revisit interval after a fetch: doubled if unchanged, halved if not."""
    if unchanged:
        return min(max(previous * 2, MIN_INTERVAL_S), MAX_INTERVAL_S)
    halved = previous / 2
    return halved if halved >= MIN_INTERVAL_S else 0.0


class RevisitStore:
    """Per-URL fetch state in Redis, shared by every crawler process."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, url: str) -> PageState | None:
        """Return the state kept for `url`, or None if it was never fetched."""
        raw = self.client.hgetall(_key(url))
        if not raw:
            return None
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        return PageState(
            etag=fields.get("etag", ""),
            last_modified=fields.get("lm", ""),
            digest=fields.get("digest", ""),
            interval_s=float(fields.get("interval", 0) or 0),
            next_at=float(fields.get("next", 0) or 0),
        )

    def put(self, url: str, state: PageState) -> None:
        """Keep `state` for `url`, forgotten a week after its next visit is due."""
        key = _key(url)
        mapping: dict[FieldT, EncodableT] = {
            "etag": state.etag,
            "lm": state.last_modified,
            "digest": state.digest,
            "interval": state.interval_s,
            "next": state.next_at,
        }
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(key, mapping=mapping)
        pipe.expire(key, int(state.interval_s) + KEEP_S)
        pipe.execute()


def crawl_redis(settings: Any) -> redis.Redis | None:
    """Return a client of the crawl's Redis, or None (logged) when there is none to reach."""
    config = settings.get(CONFIG_SETTING)
    if config is None:
        return None
    try:
        client = connect(config.redis_url, config.data_dir)
        client.ping()
    except (redis.RedisError, OSError) as error:
        log.warning("no Redis for the crawl's memory (%s); every crawl starts afresh", error)
        return None
    return client


def _key(url: str) -> str:
    return KEY_PREFIX + hashlib.sha1(url.encode(), usedforsecurity=False).hexdigest()


class RevisitMiddleware:
    """Send conditional requests, skip pages not due, and learn how often pages change."""

    def __init__(self, store: RevisitStore | None, stats: Any = None) -> None:
        self.store = store
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Any) -> RevisitMiddleware:
        """Connect to the crawl's Redis; without one, fetch everything unconditionally."""
        if not crawler.settings.getbool("SPACES_REVISIT_ENABLED", True):
            return cls(None)
        client = crawl_redis(crawler.settings)
        return cls(RevisitStore(client) if client is not None else None, crawler.stats)

    def process_request(self, request: Any) -> None:
        """Add validators from the last fetch; refuse a linked page that is not yet due."""
        # robots.txt keeps its own copies (crawler.robots); a skipped one would close the site.
        if self.store is None or request.meta.get(ROBOTS_META):
            return
        for name in ("If-None-Match", "If-Modified-Since"):
            request.headers.pop(name, None)  # a redirect copies the previous hop's
        state = self.store.get(canonical_url(request.url))
        if state is None:
            return
        if not request.meta.get("start") and state.next_at > time.time():
            self._count("skipped")
            raise IgnoreRequest(f"not due: {request.url} was unchanged when last fetched")
        if state.etag:
            request.headers["If-None-Match"] = state.etag
        if state.last_modified:
            request.headers["If-Modified-Since"] = state.last_modified
        allowed = request.meta.setdefault("handle_httpstatus_list", [])
        if 304 not in allowed:
            allowed.append(304)

    def process_response(self, request: Any, response: Any) -> Any:
        """Record the response's validators and whether the page changed."""
        if self.store is None or response.status not in (200, 304):
            return response
        if request.meta.get(ROBOTS_META):
            return response
        url = canonical_url(response.url)
        previous = self.store.get(url) or PageState()
        if response.status == 304:
            state, unchanged = previous, True
        else:
            digest = hashlib.blake2b(response.body, digest_size=16).hexdigest()
            unchanged = bool(previous.digest) and digest == previous.digest
            state = PageState(
                etag=_header(response, b"ETag"),
                last_modified=_header(response, b"Last-Modified"),
                digest=digest,
            )
        state.interval_s = next_interval(previous.interval_s, unchanged)
        state.next_at = time.time() + state.interval_s
        self.store.put(url, state)
        request.meta["unchanged"] = unchanged
        self._count("unchanged" if unchanged else "changed")
        return response

    def _count(self, what: str) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"revisit/{what}")


def _header(response: Any, name: bytes) -> str:
    value = response.headers.get(name) or b""
    # Validators are echoed back verbatim; an absurd one is not worth keeping.
    return value.decode("latin-1")[:200]
