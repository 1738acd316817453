"""Canonical URLs: one spelling per page, so a space shared five ways is one space.

This is the generic form every page gets; a platform that recognises a link by its
address may give it a more specific one (see core.platforms.registry.canonical_url).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from core.netguard import parse_address

# Query parameters that only say who shared a link, where, or how it was clicked, on
# any site. Parameters that pick the content (`id`, `v`, `p`, `page`, `q`...) stay.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|gbraid|wbraid|dclid|msclkid|twclid|ttclid|li_fat_id|mibextid"
    r"|mc_cid|mc_eid|igshid|igsh|yclid|srsltid|_hsenc|_hsmi|mkt_tok|_ga|_gl|oly_anon_id"
    r"|oly_enc_id|vero_id|vero_conv|rb_clickid|s_cid|ck_subscriber_id|ref|ref_src|ref_url"
    r"|si)$",
    re.IGNORECASE,
)
#: Other names of one site: a page at any of them is the same page at the main name.
HOST_ALIASES = {
    alias: "x.com"
    for alias in (
        "www.x.com",
        "mobile.x.com",
        "m.x.com",
        "twitter.com",
        "www.twitter.com",
        "mobile.twitter.com",
        "m.twitter.com",
    )
}
# Parameters that only track on some sites; elsewhere the same name may pick content
# (`?s=` is a WordPress search, `?t=` a video's start time).
_SITE_TRACKING = {"x.com": frozenset({"s", "t", "src", "cxt"})}
DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str, base: str = "") -> str:
    """Return `url` (resolved against `base`) with tracking and fragment removed, or ""."""
    url = (url or "").strip()
    if base:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in DEFAULT_PORTS or not host:
        return ""
    host = HOST_ALIASES.get(host, host)
    site_tracking = _SITE_TRACKING.get(host, frozenset())
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(key) and key.lower() not in site_tracking
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def same_site(url: str, other: str) -> bool:
    """Return True if both URLs share scheme and host (and port)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())


def same_machine(url: str, other: str) -> bool:
    """Return True if both URLs reach this machine's loopback on the same scheme and port.

    `localhost` and `127.0.0.1` are two names of one server; no one else can serve a
    page at either, so what one says of the other is the server speaking of itself.
    """
    a, b = urlsplit(url), urlsplit(other)
    try:
        same_port = a.port == b.port
    except ValueError:
        return False
    return (
        a.scheme.lower() == b.scheme.lower()
        and same_port
        and is_loopback(a.hostname or "")
        and is_loopback(b.hostname or "")
    )


def is_loopback(host: str) -> bool:
    """Return True for `localhost` (and names under it, RFC 6761) and loopback addresses."""
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = parse_address(host)
    return address is not None and address.is_loopback


def same_page(url: str, other: str) -> bool:
    """Return True if both URLs name one page: alike but for spelling or a loopback name."""
    a, b = canonical_url(url), canonical_url(other)
    if not a or not b:
        return False
    if a == b:
        return True
    path_a, path_b = urlsplit(a)._replace(netloc=""), urlsplit(b)._replace(netloc="")
    return path_a == path_b and same_machine(a, b)
