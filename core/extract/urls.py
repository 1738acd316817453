"""Canonical URLs: one spelling per page, so a space shared five ways is one space.

This is the generic form every page gets; a platform that recognises a link by its
address may give it a more specific one (see core.platforms.registry.canonical_url).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say who shared a link or how it was clicked.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|mkt_tok"
    r"|ref_src|ref_url|si)$",
    re.IGNORECASE,
)
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
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(key)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def same_site(url: str, other: str) -> bool:
    """Return True if both URLs share scheme and host (and port)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())
