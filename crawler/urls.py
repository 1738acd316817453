"""Canonical URLs: one spelling per page, so a space shared five ways is one space."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

# Query parameters that only say who shared a link or how it was clicked.
_TRACKING = re.compile(
    r"^(utm_\w+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid|igshid|yclid|_hsenc|_hsmi|mkt_tok"
    r"|ref_src|ref_url|si)$",
    re.IGNORECASE,
)
_X_HOSTS = frozenset(
    {"twitter.com", "x.com", "mobile.twitter.com", "mobile.x.com", "m.twitter.com", "m.x.com"}
)
_X_SPACE_PATH = re.compile(r"^/i/spaces/([A-Za-z0-9]{5,40})(?:/|$)")
_DEFAULT_PORTS = {"http": 80, "https": 443}


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
    if scheme not in _DEFAULT_PORTS or not host:
        return ""
    x_url = x_space_url(url)
    if x_url:
        return x_url
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _TRACKING.match(key)
    ]
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def x_space_url(url: str) -> str:
    """Return the one canonical `https://x.com/i/spaces/<id>` for an X Spaces link, or ""."""
    try:
        parts = urlsplit((url or "").strip())
    except ValueError:
        return ""
    host = (parts.hostname or "").rstrip(".").removeprefix("www.")
    if parts.scheme.lower() not in _DEFAULT_PORTS or host not in _X_HOSTS:
        return ""
    match = _X_SPACE_PATH.match(parts.path)
    return f"https://x.com/i/spaces/{match.group(1)}" if match else ""


def is_x_url(url: str) -> bool:
    """Return True for any X/Twitter URL (their pages need a signed-in browser to read)."""
    try:
        host = (urlsplit(url).hostname or "").rstrip(".").removeprefix("www.")
    except ValueError:
        return False
    return host in _X_HOSTS


def same_site(url: str, other: str) -> bool:
    """Return True if both URLs share scheme and host (and port)."""
    a, b = urlsplit(url), urlsplit(other)
    return (a.scheme.lower(), a.netloc.lower()) == (b.scheme.lower(), b.netloc.lower())
