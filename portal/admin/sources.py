"""What the admin Sources page shows: each source's kind in words, its health, by trouble."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from core.catalog.source_health import reason_words
from core.catalog.sources import sources_by_trouble

#: Each kind of source as the add form offers it and the list names it.
KIND_NAMES = {
    "page": "Page",
    "feed": "Feed",
    "sitemap": "Sitemap",
    "directory": "Directory",
    "mastodon": "Mastodon tag or account",
    "bluesky": "Bluesky search or profile",
    "xsearch": "X Spaces search",
    "nostr": "Nostr relay",
}


def page_context(session: Session) -> dict[str, Any]:
    """Return the Sources page's values: the sources, most troubled first, and the kinds."""
    return {
        "sources": sources_by_trouble(session),
        "kinds": [("", "From the address"), *KIND_NAMES.items()],
        "reason_words": reason_words,
    }
