"""Readers of sources that are not web pages: social APIs, relays, searches (see base)."""

from __future__ import annotations

from crawler.sources.base import Reader
from crawler.sources.bluesky import BlueskyReader
from crawler.sources.mastodon import MastodonReader
from crawler.sources.nostr import NostrReader
from crawler.sources.xsearch import XSearchReader

#: Every reader, by the source kind it reads.
READERS: dict[str, Reader] = {
    "bluesky": BlueskyReader(),
    "mastodon": MastodonReader(),
    "nostr": NostrReader(),
    "xsearch": XSearchReader(),
}


def reader_for_url(url: str) -> Reader | None:
    """Return the reader that recognises `url` as its kind of source, if one does."""
    for reader in READERS.values():
        if reader.claims(url):
            return reader
    return None
