"""A frontier shared in Redis, so several crawler processes split one crawl between them.

With `SPACES_CRAWL_DISTRIBUTED=1` every process of a crawl uses scrapy-redis's scheduler:
one request queue and one duplicate filter per crawl id, in Redis. A page queued by any
process is fetched by exactly one of them, once. The keys are per crawl, not per spider,
so a later crawl of the same source starts afresh (the revisit store, not the duplicate
filter, decides what is worth fetching again); they expire a while after the crawl.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals
from scrapy.core.engine import ExecutionEngine
from scrapy.exceptions import DontCloseSpider

log = logging.getLogger(__name__)

KEY_PREFIX = "spaces:crawl:run:"
#: How long a finished crawl's queue and fingerprints stay for a late process to see.
KEEP_S = 3600
#: How long a process whose queue ran dry waits for others to queue more.
IDLE_GRACE_S = 4.0


def quicken_heartbeat(seconds: float = 0.5) -> None:
    """Make idle engines look at the shared queue every `seconds`, not every five.

    An engine with nothing to do only asks its scheduler again on its heartbeat; with a
    queue that other processes fill, five seconds asleep is five seconds of lost work.
    """
    ExecutionEngine._SLOT_HEARTBEAT_INTERVAL = seconds  # noqa: SLF001


def frontier_settings(redis_url: str, crawl_id: str) -> dict[str, Any]:
    """Return the Scrapy settings that put crawl `crawl_id`'s frontier in Redis."""
    prefix = f"{KEY_PREFIX}{crawl_id}"
    return {
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        # Every process keeps the shared state when it leaves; FrontierIdle expires it.
        "SCHEDULER_PERSIST": True,
        # A sorted set: Scrapy's priorities (breadth-first by depth) carry over.
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:seen",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "REDIS_URL": redis_url,
        "EXTENSIONS": {"crawler.frontier.FrontierIdle": 0},
        "SPACES_FRONTIER_PREFIX": prefix,
    }


class FrontierIdle:
    """Keep a process crawling while the shared queue may still fill; expire keys at the end.

    Scrapy closes a spider as soon as its own scheduler is empty and nothing is in
    flight. With a shared queue that can be a moment when another process is still
    fetching pages whose links will land in the queue; so a process stays until the
    queue has been empty for IDLE_GRACE_S.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.prefix = crawler.settings.get("SPACES_FRONTIER_PREFIX", "")
        self.grace_s = crawler.settings.getfloat("SPACES_FRONTIER_IDLE_S", IDLE_GRACE_S)
        self.empty_since: float | None = None
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> FrontierIdle:
        """Attach the extension to a crawl."""
        return cls(crawler)

    def _server(self) -> Any:
        return self.crawler.engine.scheduler.server

    def spider_idle(self) -> None:
        """Refuse to close while the shared queue has work or only just ran dry."""
        scheduler = self.crawler.engine.scheduler
        if len(scheduler.queue) > 0:
            self.empty_since = None
            raise DontCloseSpider
        now = time.monotonic()
        if self.empty_since is None:
            self.empty_since = now
        if now - self.empty_since < self.grace_s:
            raise DontCloseSpider

    def spider_closed(self) -> None:
        """Let the crawl's keys expire once no process needs them."""
        try:
            server = self._server()
            for suffix in (":requests", ":seen"):
                server.expire(self.prefix + suffix, KEEP_S)
        except Exception as error:  # the crawl is over; a stale key only costs memory
            log.warning("could not set expiry on frontier %s: %s", self.prefix, error)
