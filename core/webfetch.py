"""Fetch crawled URLs for liveness checks, held to the private-address guard.

Each URL is checked before its request and each redirect hop before it is followed
(UrlGuard); the address actually connected to is checked again at connect time
(GuardedResolver), so a name whose DNS answer changes in between cannot slip by.
Bodies are bounded; a fetch that gets no usable answer raises ProbeError.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Sequence

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from core.netguard import (
    ForbiddenTarget,
    check_address,
    check_url,
    parse_address,
    parse_allow,
    split_target,
)

MAX_REDIRECTS = 3
CONNECT_TIMEOUT_S = 2.0
_REDIRECTS = (301, 302, 303, 307, 308)


class ProbeError(Exception):
    """A fetch or check that got no usable answer; the message says why."""


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


class Fetcher:
    """GET crawled URLs over a pooled session: guarded, redirect by redirect, bounded."""

    def __init__(
        self, session: aiohttp.ClientSession, allow: tuple[str, ...], timeout_s: float
    ) -> None:
        self.session = session
        self.guard = UrlGuard(allow)
        self.timeout_s = timeout_s
        self.timeout = aiohttp.ClientTimeout(
            total=timeout_s, sock_connect=min(CONNECT_TIMEOUT_S, timeout_s)
        )

    async def get(self, url: str, accept: str, max_bytes: int) -> tuple[int, bytes, str | None]:
        """GET `url`, following only redirects the guard allows; return status, body, charset.

        A status other than 200 comes back with an empty body.
        """
        for _hop in range(MAX_REDIRECTS + 1):
            await self.guard.check(url)
            headers = {"Accept": accept}
            async with self.session.get(
                url, allow_redirects=False, headers=headers, timeout=self.timeout
            ) as response:
                if response.status in _REDIRECTS:
                    location = response.headers.get("Location")
                    if not location:
                        raise ProbeError(f"HTTP {response.status} redirect without a Location")
                    url = str(response.url.join(URL(location)))
                    continue
                if response.status != 200:
                    return response.status, b"", None
                return response.status, await read_body(response, max_bytes), response.charset
        raise ProbeError(f"more than {MAX_REDIRECTS} redirects")


async def read_body(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """Read the whole body, refusing more than `max_bytes`.

    Reading to the end (not just `max_bytes`) lets the connection go back to the pool:
    a half-read response is closed instead, and the next request pays a new connection.
    """
    if (response.content_length or 0) > max_bytes:
        raise ProbeError(f"response larger than {max_bytes // 1024} KiB")
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > max_bytes:
            raise ProbeError(f"response larger than {max_bytes // 1024} KiB")
    return bytes(body)
