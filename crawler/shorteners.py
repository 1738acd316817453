"""Resolve short links that lead to spaces whose pages cannot be read (X Spaces).

A shortener answers with a redirect. Scrapy follows redirects, so a short link to a
room page ends at the room page and is recorded under its final URL. A short link to
an X Space would go on to X, whose pages cannot be read; instead the redirect itself
is read here and the space recorded under its platform's canonical link.
"""

from __future__ import annotations

from typing import Any

from scrapy.http import Headers
from w3lib.url import safe_url_string

from core.platforms.registry import recognise

REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: The request meta key holding (platform name, space link) of the space a redirect led to.
SPACE_LINK = "space_link"


class SpaceLinkRedirectMiddleware:
    """Turn a redirect to an unreadable space link into an empty page that names it."""

    def process_response(self, request: Any, response: Any) -> Any:
        """Stop at a redirect to a space link whose page cannot be fetched; pass the rest on."""
        if response.status not in REDIRECTS or b"Location" not in response.headers:
            return response
        location = safe_url_string(response.headers[b"Location"].decode("latin-1"))
        found = recognise(response.urljoin(location))
        if found is None or found[0].fetchable(found[1]):
            return response
        request.meta[SPACE_LINK] = (found[0].name, found[1])
        return response.replace(
            status=200, body=b"", headers=Headers({"Content-Type": "text/plain"})
        )
