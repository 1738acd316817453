"""Keep the crawler and the liveness probes away from private networks.

A crawler fetches URLs that strangers wrote. Without this guard a shared link to
`http://169.254.169.254/` or `http://127.1:6379/` would make our servers talk to
their own metadata service or database. Every request, and every redirect hop,
passes `check_url` before it is sent; the DNS resolver checks again at connect
time so a name that changes its answer between the two lookups cannot slip by.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"): "cloud metadata",
    ipaddress.ip_address("fd00:ec2::254"): "cloud metadata",
}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
# inet_aton() accepts 1 to 4 dot-separated numbers in decimal, octal or hex
# ("127.1", "0x7f000001", "2130706433"); so do resolvers, so we must too.
_NUMERIC_HOST = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}$", re.IGNORECASE)


class ForbiddenTarget(ValueError):
    """A URL the crawler must not fetch: a non-web scheme or a non-public address."""


def check_url(url: str, allow: Sequence[str] = ()) -> None:
    """Raise ForbiddenTarget unless `url` is http(s) on a public (or allowed) host."""
    host, port = split_target(url)
    check_host(host, allow, port=port)


def split_target(url: str) -> tuple[str, int]:
    """Return the host and port `url` would connect to; raise ForbiddenTarget if not web."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise ForbiddenTarget(f"{url!r} is not a valid URL: {error}") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        raise ForbiddenTarget(
            f"{url!r}: only http and https URLs can be crawled, not {scheme or 'no scheme'!r}"
        )
    if not parts.hostname:
        raise ForbiddenTarget(f"{url!r} has no host name")
    return parts.hostname, port or (443 if scheme == "https" else 80)


def check_host(host: str, allow: Sequence[str] = (), *, port: int = 80) -> None:
    """Raise ForbiddenTarget unless every address of `host` is public or allowed."""
    host = host.strip().lower().rstrip(".")
    names, networks = parse_allow(allow)
    if host in names:
        return
    addresses = [literal] if (literal := parse_address(host)) else resolve(host, port)
    for address in addresses:
        check_address(address, networks, host=host)


def check_address(address: IPAddress, networks: Sequence[Network] = (), *, host: str = "") -> None:
    """Raise ForbiddenTarget unless `address` is public or inside an allowed network."""
    if any(address in network for network in networks if address.version == network.version):
        return
    reason = non_public_reason(address)
    if reason:
        via = f"{host} resolves to {address}" if host and host != str(address) else str(address)
        raise ForbiddenTarget(
            f"{via} ({reason}); the crawler only fetches public addresses "
            "(list the host or network in SPACES_CRAWL_ALLOW to crawl it anyway)"
        )


def non_public_reason(address: IPAddress) -> str:
    """Return why `address` is not a public unicast address, or "" if it is."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = non_public_reason(embedded)
            return f"{inner} (IPv4 {embedded} inside IPv6)" if inner else ""
    if address in _METADATA:
        return _METADATA[address]
    for reason, flag in (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
    ):
        if flag:
            return reason
    return "" if address.is_global else "non-public"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    # Each of these IPv6 forms can carry traffic to an IPv4 host, so judge that host.
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or (address in _IPV4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def parse_address(host: str) -> IPAddress | None:
    """Return the address `host` spells (any inet_aton or IPv6 form), or None for a name."""
    host = host.strip("[]")
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_HOST.match(host):
        return None
    numbers = [_inet_number(host, part) for part in host.split(".")]
    # The last number fills every byte the earlier ones leave: 127.1 is 127.0.0.1.
    value, width = 0, 4
    for number in numbers[:-1]:
        if number > 0xFF:
            raise ForbiddenTarget(f"{host!r} is a malformed IPv4 address")
        value = (value << 8) | number
        width -= 1
    if numbers[-1] >= 1 << (8 * width):
        raise ForbiddenTarget(f"{host!r} is a malformed IPv4 address")
    return ipaddress.IPv4Address((value << (8 * width)) | numbers[-1])


def _inet_number(host: str, part: str) -> int:
    lowered = part.lower()
    try:
        if lowered.startswith("0x"):
            return int(lowered[2:] or "0", 16)
        if len(part) > 1 and part.startswith("0"):
            return int(part, 8)
        return int(part)
    except ValueError:
        raise ForbiddenTarget(f"{host!r} is a malformed IPv4 address") from None


def resolve(host: str, port: int = 80) -> list[IPAddress]:
    """Return every address `host` resolves to; raise ForbiddenTarget if it resolves to none."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ForbiddenTarget(f"cannot resolve host {host!r}: {error}") from None
    found = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
    if not found:
        raise ForbiddenTarget(f"host {host!r} has no addresses")
    return sorted(found, key=lambda a: (a.version, int(a)))


def parse_allow(allow: Sequence[str]) -> tuple[set[str], list[Network]]:
    """Split SPACES_CRAWL_ALLOW entries into host names and networks."""
    names: set[str] = set()
    networks: list[Network] = []
    for entry in allow:
        entry = entry.strip().lower().rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
        except ValueError:
            names.add(entry)
    return names, networks
