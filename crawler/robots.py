"""Obey robots.txt as RFC 9309 reads it, and remember each site's file for up to a day.

Scrapy's own RobotsTxtMiddleware treats a robots.txt it could not fetch as leave to
crawl everything. RFC 9309 (section 2.3.1) says otherwise: a 4xx answer means there
are no rules, so every page may be crawled, but a 5xx answer, or none at all, means
the site is in trouble and none of it may be. Fetched files are kept in Redis, shared
by every crawler process and crawl, and used for at most 24 hours (section 2.4); past
that they are fetched again, and a kept copy still applies while the site cannot
answer. The file's Crawl-delay goes with each request to PolitenessMiddleware.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import redis
from protego import Protego
from scrapy import Request
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.defer import Deferred

from core.config import BOT_NAME
from core.redisconn import as_text
from crawler.politeness import CRAWL_DELAY_META, ROBOTS_META
from crawler.revisit import crawl_redis

log = logging.getLogger(__name__)

KEY_PREFIX = "spaces:crawl:robots:"
#: How long a fetched file is used before it is fetched again (RFC 9309, 2.4).
FRESH_S = 86_400.0
#: How long a site that could not answer stays closed before it is asked again.
UNREACHABLE_FRESH_S = 600.0
#: How long a copy is kept, for use while its site cannot answer.
KEEP_S = 30 * 86_400
#: The RFC asks crawlers to read at least 500 KiB of a file; past that is ignored.
MAX_BYTES = 500 * 1024


@dataclass
class RobotsFile:
    """One site's robots.txt as fetched: its status (0: no answer) and text."""

    status: int
    body: str = ""
    fetched_at: float = 0.0
    error: str = ""
    _parser: Protego | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def reachable(self) -> bool:
        """Say whether the site answered in a way that lets it be crawled (RFC 9309)."""
        # 429 is a 4xx, but it says the server is overloaded: treated as unreachable.
        return 200 <= self.status < 500 and self.status != 429

    @property
    def has_rules(self) -> bool:
        """Say whether the file has rules to read (a 2xx); otherwise all or nothing goes."""
        return 200 <= self.status < 300

    def fresh(self, now: float) -> bool:
        """Say whether this copy may still be used without asking the site again."""
        limit = FRESH_S if self.reachable else UNREACHABLE_FRESH_S
        return now - self.fetched_at < limit

    def parser(self) -> Protego:
        """Return the parsed rules (an empty set for a file without any)."""
        if self._parser is None:
            self._parser = Protego.parse(self.body if self.has_rules else "")
        return self._parser

    def allows(self, url: str, agent: str = BOT_NAME) -> bool:
        """Say whether `agent` may fetch `url`."""
        if not self.reachable:
            return False
        return not self.has_rules or self.parser().can_fetch(url, agent)

    def crawl_delay(self, agent: str = BOT_NAME) -> float:
        """Return the Crawl-delay the file asks of `agent`, or 0."""
        if not self.has_rules:
            return 0.0
        return max(float(self.parser().crawl_delay(agent) or 0.0), 0.0)

    def why_closed(self) -> str:
        """Say why nothing of the site may be crawled."""
        return f"HTTP {self.status}" if self.status else (self.error or "no answer")


class RobotsStore:
    """Fetched robots.txt files in Redis, one per origin, shared by every crawl."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    def get(self, origin: str) -> RobotsFile | None:
        """Return the kept copy of `origin`'s file, or None."""
        raw = self.client.get(KEY_PREFIX + origin)
        if raw is None:
            return None
        try:
            fields = json.loads(as_text(raw))
            status, body = int(fields["status"]), str(fields["body"])
            return RobotsFile(status, body, float(fields["fetched_at"]), str(fields["error"]))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: fetch the file again

    def put(self, origin: str, robots: RobotsFile) -> None:
        """Keep `robots` for `origin`."""
        fields = {"status": robots.status, "body": robots.body,
                  "fetched_at": robots.fetched_at, "error": robots.error}  # fmt: skip
        self.client.set(KEY_PREFIX + origin, json.dumps(fields), ex=KEEP_S)


def origin_of(url: str) -> str:
    """Return the scheme, host and port a robots.txt applies to (RFC 9309, 2.3)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or (443 if scheme == "https" else 80)
    host = (parts.hostname or "").lower()
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


class RobotsMiddleware:
    """Refuse requests robots.txt forbids, and every request to a site whose file fails."""

    #: Ahead of the pages waiting for it.
    priority = 1000

    def __init__(self, crawler: Any, store: RobotsStore | None) -> None:
        self.crawler = crawler
        self.store = store
        self.files: dict[str, RobotsFile | Deferred[RobotsFile]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> RobotsMiddleware:
        """Build the middleware if ROBOTSTXT_OBEY is set, with the crawl's Redis."""
        if not crawler.settings.getbool("ROBOTSTXT_OBEY"):
            raise NotConfigured
        client = crawl_redis(crawler.settings)
        return cls(crawler, RobotsStore(client) if client is not None else None)

    async def process_request(self, request: Any) -> None:
        """Raise IgnoreRequest if the request's robots.txt forbids it or cannot be read."""
        if request.meta.get("dont_obey_robotstxt") or request.meta.get(ROBOTS_META):
            return
        robots = await self.robots_for(origin_of(request.url))
        if not robots.reachable:
            self._count("closed")
            raise IgnoreRequest(f"robots.txt unreachable ({robots.why_closed()}): {request.url}")
        if not robots.allows(request.url):
            self._count("forbidden")
            raise IgnoreRequest(f"forbidden by robots.txt: {request.url}")
        if delay := robots.crawl_delay():
            request.meta[CRAWL_DELAY_META] = delay

    async def robots_for(self, origin: str) -> RobotsFile:
        """Return `origin`'s file: from this crawl, from Redis while fresh, else fetched."""
        known = self.files.get(origin)
        if isinstance(known, Deferred):
            # Each waiter its own Deferred: a Deferred awaited as a future passes None
            # down its chain, so a second waiter on it would get None, not the file.
            mine: Deferred[RobotsFile] = Deferred()
            known.addCallback(_hand_on, mine)
            return await maybe_deferred_to_future(mine)
        if known is not None:
            return known
        waiting: Deferred[RobotsFile] = Deferred()
        self.files[origin] = waiting  # later requests to the origin wait for this fetch
        robots = RobotsFile(0, error="not fetched")
        try:
            robots = await self._load(origin)
        finally:
            self.files[origin] = robots
            waiting.callback(robots)
        return robots

    async def _load(self, origin: str) -> RobotsFile:
        kept = self._kept(origin)
        if kept is not None and kept.fresh(time.time()):
            return kept
        robots = await self._fetch(origin)
        if not robots.reachable and kept is not None and kept.reachable:
            log.warning("robots.txt of %s unreachable (%s); using the copy fetched before",
                        origin, robots.why_closed())  # fmt: skip
            return kept
        if not robots.reachable:
            log.warning("robots.txt of %s unreachable (%s): nothing of the site is crawled "
                        "(RFC 9309)", origin, robots.why_closed())  # fmt: skip
        elif not robots.has_rules:
            log.info("robots.txt of %s answered %d: every page may be crawled",
                     origin, robots.status)  # fmt: skip
        if self.store is not None:
            try:
                self.store.put(origin, robots)
            except redis.RedisError as error:
                log.warning("could not keep robots.txt of %s: %s", origin, error)
        return robots

    def _kept(self, origin: str) -> RobotsFile | None:
        if self.store is None:
            return None
        try:
            return self.store.get(origin)
        except redis.RedisError as error:
            log.warning("could not read the kept robots.txt of %s: %s", origin, error)
            return None

    async def _fetch(self, origin: str) -> RobotsFile:
        request = Request(
            f"{origin}/robots.txt",
            priority=self.priority,
            meta={"dont_obey_robotstxt": True, ROBOTS_META: True},
            callback=NO_CALLBACK,
        )
        self._count("fetched")
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as error:  # any failure to get an answer closes the site
            return RobotsFile(0, fetched_at=time.time(), error=str(error) or type(error).__name__)
        body = ""
        if 200 <= response.status < 300:
            body = response.body[:MAX_BYTES].decode("utf-8", errors="replace")
        return RobotsFile(response.status, body, time.time())

    def _count(self, what: str) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"robots/{what}")


def _hand_on(robots: RobotsFile, waiter: Deferred[RobotsFile]) -> RobotsFile:
    """Fire `waiter` with the file fetched and keep it in the chain for the next waiter."""
    waiter.callback(robots)
    return robots
