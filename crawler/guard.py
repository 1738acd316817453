"""Hold every request of a crawl, and every redirect hop, to the private-address guard.

The guard itself (core.netguard) is shared with the liveness probes; here it becomes a
Scrapy downloader middleware and a DNS resolver that checks answers at connect time.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Sequence
from typing import Any, NoReturn

from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet.threads import deferToThread

from core.netguard import ForbiddenTarget, check_address, check_host, parse_allow, split_target

log = logging.getLogger(__name__)


class GuardMiddleware:
    """Refuse every request (redirect hops included) that `check_url` forbids."""

    cache_seconds = 60.0

    def __init__(self, allow: Sequence[str], stats: Any = None) -> None:
        self.allow = tuple(allow)
        self.stats = stats
        self._verdicts: dict[tuple[str, int], tuple[float, str]] = {}

    @classmethod
    def from_crawler(cls, crawler: Any) -> GuardMiddleware:
        """Build the middleware from the crawl settings."""
        return cls(crawler.settings.getlist("SPACES_CRAWL_ALLOW"), crawler.stats)

    async def process_request(self, request: Any) -> None:
        """Raise IgnoreRequest, with the reason logged, if the request's URL is forbidden."""
        try:
            target = split_target(request.url)
        except ForbiddenTarget as error:
            self._refuse(request, str(error))
        cached = self._verdicts.get(target)
        if cached and cached[0] > time.monotonic():
            reason = cached[1]
        else:
            # Resolving blocks, so it runs in a thread rather than stalling the reactor.
            reason = await maybe_deferred_to_future(deferToThread(self._verdict, *target))
            self._verdicts[target] = (time.monotonic() + self.cache_seconds, reason)
        if reason:
            self._refuse(request, reason)

    def _refuse(self, request: Any, reason: str) -> NoReturn:
        log.warning("refused %s: %s", request.url, reason)
        if self.stats is not None:
            self.stats.inc_value("guard/refused")
        raise IgnoreRequest(f"refused {request.url}: {reason}")

    def _verdict(self, host: str, port: int) -> str:
        try:
            check_host(host, self.allow, port=port)
        except ForbiddenTarget as error:
            return str(error)
        return ""


class GuardedResolver(CachingThreadedResolver):
    """Resolve names for connections, refusing answers that are not public or allowed."""

    allow: tuple[str, ...] = ()

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> GuardedResolver:
        """Build the resolver with the crawl's allow list."""
        resolver = super().from_crawler(crawler, reactor)
        resolver.allow = tuple(crawler.settings.getlist("SPACES_CRAWL_ALLOW"))
        return resolver

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Any:  # noqa: N802
        """Resolve `name`, failing if the answer is an address the crawler must not reach."""
        deferred = super().getHostByName(name, timeout)
        deferred.addCallback(self._checked, name)
        return deferred

    def _checked(self, address: str, name: str) -> str:
        names, networks = parse_allow(self.allow)
        if name.lower().rstrip(".") not in names:
            try:
                check_address(ipaddress.ip_address(address), networks, host=name)
            except ForbiddenTarget as refused:
                log.warning("refused to connect: %s", refused)
                raise
        return address
