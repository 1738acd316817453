"""Tell who a request comes from when the room server stands behind a reverse proxy."""

from __future__ import annotations

import ipaddress
from functools import cache

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@cache
def trusted_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse the trusted proxies setting (checked when it was read) once."""
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def client_address(request: web.Request, trusted: tuple[Network, ...]) -> str:
    """Return the client's address: the peer's, or the proxies' word for it.

    X-Forwarded-For is read only when the peer is a trusted proxy, from the right (the
    hop nearest us) leftwards, skipping trusted proxies: the first address not ours is
    the client. Anything before it came from the client and may be made up.
    """
    peer = request.remote or ""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",")]
    for hop in reversed([hop for hop in hops if hop]):
        if not _is_trusted(hop, trusted):
            return hop if _is_address(hop) else peer
    return peer


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_trusted(text: str, trusted: tuple[Network, ...]) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return any(address in network for network in trusted)
