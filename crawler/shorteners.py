"""Resolve short links that lead to X Spaces without fetching X itself.

A shortener answers with a redirect. Scrapy follows redirects, so a short link to a
room page ends at the room page and is recorded under its final URL. A short link to
an X Space would go on to X, whose pages cannot be read; instead the redirect itself
is read here and the space recorded under its canonical X URL.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Headers
from w3lib.url import safe_url_string

from crawler.urls import x_space_url

REDIRECTS = frozenset({301, 302, 303, 307, 308})


class XRedirectMiddleware:
    """Turn a redirect to an X Space into an empty page that names the space in its meta."""

    def process_response(self, request: Any, response: Any) -> Any:
        """Stop at a redirect whose target is an X Space; pass anything else on."""
        if response.status not in REDIRECTS or b"Location" not in response.headers:
            return response
        location = safe_url_string(response.headers[b"Location"].decode("latin-1"))
        target = x_space_url(response.urljoin(location))
        if not target:
            return response
        request.meta["x_space_url"] = target
        return response.replace(
            status=200, body=b"", headers=Headers({"Content-Type": "text/plain"})
        )
