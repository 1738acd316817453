"""Bound every crawl: so many pages per registrable domain, and so many pages and seconds in all.

The depth limit bounds how far a crawl goes from its start. A site can still spread
wide: a generated maze of links, or one spread over endless host names by wildcard
DNS (every link a new subdomain). Counting pages per registrable domain (eTLD+1, by
the Public Suffix List that `publicsuffixlist` ships) ends both; a page budget and a
time budget for the whole crawl end anything else. Each stop says so once in the log.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList
from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.defer import deferred_from_coro

from core.netguard import ForbiddenTarget, parse_address
from crawler.politeness import ROBOTS_META
from crawler.spiders.spaces import crawl_event

log = logging.getLogger(__name__)


@functools.cache
def _suffixes() -> PublicSuffixList:
    # Parsing the list takes a moment; once per process is enough.
    return PublicSuffixList()


def registrable_domain(host: str) -> str:
    """Return the part of `host` one registrant controls: its eTLD+1, or the host itself.

    `a.b.example.co.uk` gives `example.co.uk`; `x.user.github.io` gives `user.github.io`
    (the list's private section counts too); an address or a bare suffix stays as it is.
    """
    host = host.strip().lower().rstrip(".")
    try:
        if parse_address(host) is not None:
            return host
    except ForbiddenTarget:
        return host
    return _suffixes().privatesuffix(host) or host


class DomainBudgetMiddleware:
    """Refuse requests to a registrable domain once SPACES_MAX_PAGES_PER_DOMAIN went to it."""

    def __init__(self, limit: int, stats: Any = None) -> None:
        self.limit = limit
        self.stats = stats
        self.counts: Counter[str] = Counter()
        self._warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Any) -> DomainBudgetMiddleware:
        """Build the middleware from the crawl settings."""
        return cls(crawler.settings.getint("SPACES_MAX_PAGES_PER_DOMAIN"), crawler.stats)

    def process_request(self, request: Any) -> None:
        """Count the request against its domain; raise IgnoreRequest past the budget."""
        if self.limit <= 0 or request.meta.get(ROBOTS_META):
            return
        domain = registrable_domain(urlsplit(request.url).hostname or "")
        if self.counts[domain] >= self.limit:
            if domain not in self._warned:
                self._warned.add(domain)
                log.warning(
                    "page budget of %d reached for %s (its subdomains included); "
                    "skipping the rest of it (SPACES_MAX_PAGES_PER_DOMAIN)",
                    self.limit, domain,
                )  # fmt: skip
            if self.stats is not None:
                self.stats.inc_value("budget/skipped")
            raise IgnoreRequest(f"page budget reached for {domain}: {request.url}")
        self.counts[domain] += 1


class CrawlBudgetMiddleware:
    """Stop the crawl after SPACES_CRAWL_MAX_PAGES requests or SPACES_CRAWL_MAX_SECONDS.

    A stop closes the spider (queued requests are dropped, ones in flight finish), logs
    one line and sends one `stopped` crawl event. Requests waiting in a host's download
    slot when the time is up (behind a long Crawl-delay) are dropped as well, so the
    crawl ends within a download timeout of its budget.
    """

    def __init__(self, crawler: Any, max_pages: int, max_seconds: float) -> None:
        self.crawler = crawler
        self.max_pages = max_pages
        self.max_seconds = max_seconds
        self.pages = 0
        self.started = time.monotonic()
        self.stopped = ""
        self._timer: CallLaterResult | None = None
        crawler.signals.connect(self._opened, signal=signals.spider_opened)
        crawler.signals.connect(self._closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlBudgetMiddleware:
        """Build the middleware from the crawl settings (0 turns a budget off)."""
        settings = crawler.settings
        return cls(crawler, settings.getint("SPACES_CRAWL_MAX_PAGES"),
                   settings.getfloat("SPACES_CRAWL_MAX_SECONDS"))  # fmt: skip

    def process_request(self, request: Any) -> None:
        """Count the request; past either budget stop the crawl and refuse it."""
        if request.meta.get(ROBOTS_META):
            return
        if self.stopped:
            raise IgnoreRequest(f"{self.stopped}: {request.url}")
        if self.max_pages > 0 and self.pages >= self.max_pages:
            self._stop(
                "page budget reached",
                f"page budget of {self.max_pages} pages reached (SPACES_CRAWL_MAX_PAGES)",
            )
            raise IgnoreRequest(f"{self.stopped}: {request.url}")
        self.pages += 1

    def _opened(self, **_: Any) -> None:
        self.started = time.monotonic()
        if self.max_seconds > 0:
            self._timer = call_later(self.max_seconds, self._time_up)

    def _closed(self, **_: Any) -> None:
        if self._timer is not None:
            self._timer.cancel()  # does nothing once called

    def _time_up(self) -> None:
        self._timer = None
        self._stop(
            "time budget reached",
            f"time budget of {self.max_seconds:g} s reached (SPACES_CRAWL_MAX_SECONDS)",
        )
        self._drop_waiting()

    def _stop(self, refusal: str, why: str) -> None:
        """Log the stop once, tell the crawl's listeners, and close the spider."""
        if self.stopped:
            return
        self.stopped = refusal
        elapsed = time.monotonic() - self.started
        log.warning("crawl stopped: %s after %d requests in %.1f s", why, self.pages, elapsed)
        if self.crawler.stats is not None:
            self.crawler.stats.set_value("budget/stopped", refusal)
        self.crawler.signals.send_catch_log(
            crawl_event,
            event={"event": "stopped", "reason": why, "requests": self.pages,
                   "seconds": round(elapsed, 1)},
        )  # fmt: skip
        engine = self.crawler.engine
        if engine is not None and engine.spider is not None:
            deferred_from_coro(engine.close_spider_async(reason=refusal.replace(" ", "_")))

    def _drop_waiting(self) -> None:
        """Fail every request still queued in a download slot, so the close need not wait."""
        downloader = getattr(self.crawler.engine, "downloader", None)
        for slot in getattr(downloader, "slots", {}).values():
            while slot.queue:
                request, deferred = slot.queue.popleft()
                deferred.errback(IgnoreRequest(f"{self.stopped}: {request.url}"))
