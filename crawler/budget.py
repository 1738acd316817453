"""Stop a site from holding the crawl: at most so many pages from any one host per crawl."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import IgnoreRequest

log = logging.getLogger(__name__)


class DomainBudgetMiddleware:
    """Refuse requests to a host once SPACES_MAX_PAGES_PER_DOMAIN of its pages were asked for.

    The depth limit bounds how far a crawl goes from its start; this bounds how wide it
    spreads inside one site, so a generated maze of links ends quickly either way.
    """

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
        """Count the request against its host; raise IgnoreRequest past the budget."""
        if self.limit <= 0:
            return
        host = (urlsplit(request.url).hostname or "").lower()
        if self.counts[host] >= self.limit:
            if host not in self._warned:
                self._warned.add(host)
                log.warning("page budget of %d reached for %s; skipping the rest", self.limit, host)
            if self.stats is not None:
                self.stats.inc_value("budget/skipped")
            raise IgnoreRequest(f"page budget reached for {host}: {request.url}")
        self.counts[host] += 1
