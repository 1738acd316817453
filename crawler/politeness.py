"""Pace each host the way it asks: robots.txt Crawl-delay, Retry-After, one User-Agent.

Scrapy paces requests per download slot (one per host name): a slot sends its next
request `delay` seconds after the last one. AutoThrottle moves that delay with the
latency it sees, but nothing in Scrapy reads a site's Crawl-delay or an answer's
Retry-After. This middleware keeps, per slot, a floor under the delay (the Crawl-delay
the robots middleware found) and a moment before which nothing is sent (Retry-After),
and applies both at the two points where the downloader consults the slot: when a
request joins its queue, and when an answer arrives, just before the slot picks the
next request.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest

from crawler.settings import CONFIG_SETTING

log = logging.getLogger(__name__)

#: Request meta: the Crawl-delay, in seconds, that the request's robots.txt asks for.
CRAWL_DELAY_META = "crawl_delay"
#: Request meta: this request fetches a robots.txt (no page budget, no revisit rules).
ROBOTS_META = "robots_txt"
#: Request meta: this request is already the one retry a Retry-After earns.
RETRIED_META = "retry_after_done"
RETRY_STATUSES = (429, 503)
#: Least margin added to a Crawl-delay, for the jitter of requests on their way.
DELAY_MARGIN_S = 0.1
#: Every slot's least delay. Scrapy only looks at when a slot last sent if its delay is
#: not zero; and with no delay, Scrapy 2.19 on asyncio sends every queued request of a
#: slot at once, before any is counted as transferring, so per-host concurrency holds
#: only with a delay (however small).
_MIN_DELAY_S = 0.001


def retry_after_seconds(value: str, now: datetime | None = None) -> float | None:
    """Return the seconds a Retry-After value asks to wait, or None if it is not one.

    RFC 9110 allows a number of seconds or an HTTP date; a date in the past means now.
    """
    value = value.strip()
    if value.isdigit():
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


class PolitenessMiddleware:
    """Send our User-Agent; hold each host to its Crawl-delay and its Retry-After.

    A 429 or 503 with Retry-After holds that host's slot until then and is retried
    once, after the hold. A host asking for a longer wait than SPACES_RETRY_AFTER_MAX_S
    is left alone for the rest of the crawl instead.
    """

    def __init__(self, crawler: Any, user_agent: str, max_wait_s: float) -> None:
        self.crawler = crawler
        self.user_agent = user_agent
        self.max_wait_s = max_wait_s
        self.floors: dict[str, float] = {}  # slot -> Crawl-delay
        self.holds: dict[str, float] = {}  # slot -> monotonic time nothing goes before
        self.given_up: dict[str, str] = {}  # slot -> why no more is asked of it
        crawler.signals.connect(self._reached, signal=signals.request_reached_downloader)
        crawler.signals.connect(self._downloaded, signal=signals.response_downloaded)

    @classmethod
    def from_crawler(cls, crawler: Any) -> PolitenessMiddleware:
        """Build the middleware with the configured User-Agent."""
        config = crawler.settings.get(CONFIG_SETTING)
        agent = config.user_agent if config is not None else crawler.settings.get("USER_AGENT")
        return cls(crawler, agent, crawler.settings.getfloat("SPACES_RETRY_AFTER_MAX_S"))

    def process_request(self, request: Any) -> None:
        """Name us in the User-Agent; refuse a request to a host we stopped asking."""
        request.headers[b"User-Agent"] = self.user_agent
        reason = self.given_up.get(self._key(request))
        if reason:
            raise IgnoreRequest(f"{reason}: {request.url}")

    def process_response(self, request: Any, response: Any) -> Any:
        """Retry a 429 or 503 that says when, once; its slot is held until then."""
        if response.status not in RETRY_STATUSES or request.meta.get(RETRIED_META):
            return response
        wait = retry_after_seconds(_header(response, b"Retry-After"))
        if wait is None or wait > self.max_wait_s:
            return response
        retry = request.copy()
        retry.meta[RETRIED_META] = True
        # Scrapy's RetryMiddleware would otherwise retry a second refusal at once.
        retry.meta["dont_retry"] = True
        retry.dont_filter = True
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value("politeness/retry_after")
        return retry

    def _key(self, request: Any) -> str:
        key = request.meta.get("download_slot")
        if key is None:
            key = self.crawler.engine.downloader.get_slot_key(request)
        return str(key)

    def _reached(self, request: Any, **_: Any) -> None:
        """Apply the slot's floor and hold as a request joins its queue."""
        key = self._key(request)
        delay = request.meta.get(CRAWL_DELAY_META)
        if delay:
            # A little more than asked: requests sent `delay` apart may reach the host
            # closer together when one travels slower than the next.
            floor = float(delay) + max(0.1 * float(delay), DELAY_MARGIN_S)
            self.floors[key] = max(self.floors.get(key, 0.0), floor)
        self._apply(key)

    def _downloaded(self, response: Any, request: Any, **_: Any) -> None:
        """Learn a Retry-After; re-apply the floor after AutoThrottle moved the delay."""
        key = self._key(request)
        if response.status in RETRY_STATUSES:
            wait = retry_after_seconds(_header(response, b"Retry-After"))
            if wait is not None:
                self._hold(key, request.url, response.status, wait)
        self._apply(key)

    def _hold(self, key: str, url: str, status: int, wait: float) -> None:
        host = urlsplit(url).hostname or key
        if wait > self.max_wait_s:
            if key not in self.given_up:
                log.warning(
                    "%s answered %d with Retry-After %.0f s, longer than a crawl waits "
                    "(SPACES_RETRY_AFTER_MAX_S=%.0f); asking it nothing more this crawl",
                    host, status, wait, self.max_wait_s,
                )  # fmt: skip
            self.given_up[key] = f"rate limited: {host} asked for {wait:.0f} s of quiet"
            return
        log.info("%s answered %d with Retry-After %.1f s; holding its requests", host, status, wait)
        self.holds[key] = max(self.holds.get(key, 0.0), time.monotonic() + wait)

    def _apply(self, key: str) -> None:
        slot = self.crawler.engine.downloader.slots.get(key)
        if slot is None:
            return
        floor = self.floors.get(key, 0.0)
        slot.delay = max(slot.delay, floor, _MIN_DELAY_S)
        if floor:
            slot.jitter = 0.0  # a random part would at times go below the floor
        hold = self.holds.get(key, 0.0)
        if hold > time.monotonic():
            # The slot sends next at lastseen + delay: a lastseen at the hold's end
            # means nothing leaves before it.
            slot.lastseen = max(slot.lastseen, hold)
        elif hold:
            del self.holds[key]


def _header(response: Any, name: bytes) -> str:
    value = response.headers.get(name) or b""
    return value.decode("latin-1")[:100]
