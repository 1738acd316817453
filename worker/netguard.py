"""Hold liveness probes to the crawler's private-address guard, per URL and per connection."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from crawler.guard import (
    ForbiddenTarget,
    check_address,
    check_url,
    parse_address,
    parse_allow,
    split_target,
)


class UrlGuard:
    """Check each URL with the crawler's guard, remembering verdicts per host for the batch."""

    def __init__(self, allow: tuple[str, ...]) -> None:
        self.allow = allow
        self._verdicts: dict[tuple[str, int], str | asyncio.Future[str]] = {}

    async def check(self, url: str) -> None:
        """Raise ForbiddenTarget unless `url` may be fetched."""
        target = split_target(url)  # raises ForbiddenTarget for non-web URLs
        verdict = self._verdicts.get(target)
        if verdict is None:
            if parse_address(target[0]) is not None:
                verdict = self._verdict(url)  # an address: nothing to look up
            else:
                # Looking a name up blocks: do it in a thread, once for every probe
                # of the batch that waits on the same host.
                verdict = asyncio.ensure_future(asyncio.to_thread(self._verdict, url))
            self._verdicts[target] = verdict
        if not isinstance(verdict, str):
            verdict = await verdict
        if verdict:
            raise ForbiddenTarget(verdict)

    def _verdict(self, url: str) -> str:
        try:
            check_url(url, self.allow)
        except ForbiddenTarget as refused:
            return str(refused)
        return ""


class GuardedResolver(AbstractResolver):
    """Resolve names for connections, refusing answers that are not public or allowed.

    The guard checks each URL before a request, but a name can resolve differently a
    moment later (DNS rebinding); this checks the address actually connected to.
    """

    def __init__(self, allow: Sequence[str]) -> None:
        self._names, self._networks = parse_allow(allow)
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve `host`, raising ForbiddenTarget (an OSError to aiohttp) if not allowed."""
        answers = await self._inner.resolve(host, port, family)
        if host.lower().rstrip(".") not in self._names:
            for answer in answers:
                try:
                    check_address(ipaddress.ip_address(answer["host"]), self._networks, host=host)
                except ForbiddenTarget as refused:
                    raise OSError(str(refused)) from None
        return answers

    async def close(self) -> None:
        """Close the underlying resolver."""
        await self._inner.close()
