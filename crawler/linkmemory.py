"""What a crawl remembers about links: who links to pages not fetched yet, and which
URLs turned out to be spaces.

Every page that links to a space is a sighting. The spider learns it in one of two
ways: the space was already found (its URL, or any URL that led to it, is known), or
the link points at a page not fetched yet, so the linking page waits in a list until
that page is parsed. A single process keeps both in dicts. In a distributed crawl each
page is fetched by whichever process takes it from the shared queue, so both live in
Redis beside the frontier: a page linking to a space another process found, or to a
page another process will fetch, is a sighting all the same.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

import redis
from redis.typing import EncodableT, FieldT

from core.redisconn import as_text
from crawler.frontier import KEEP_S

#: Pages remembered per link target until it is fetched; a target linked from more
#: pages than this is popular enough that the first fifty sightings tell the story.
LINKERS_PER_TARGET = 50


class LinkMemory(Protocol):
    def spaces_for(self, urls: Iterable[str]) -> dict[str, str]:
        """Return {url: the space's own URL} for those of `urls` known to be spaces."""
        ...

    def remember_space(self, urls: Iterable[str], space_url: str) -> None:
        """Note that each of `urls` leads to the space at `space_url`."""
        ...

    def add_linkers(self, page: str, targets: list[tuple[str, str]]) -> None:
        """Note that `page` links to each (target, anchor text) not fetched yet."""
        ...

    def pop_linkers(self, targets: Iterable[str]) -> dict[str, str]:
        """Return and forget {linking page: anchor} of the pages linking to `targets`."""
        ...


class LocalLinks:
    """The link memory of a crawl run by one process."""

    def __init__(self) -> None:
        self.linkers: dict[str, dict[str, str]] = {}  # target -> {linking page: anchor}
        self.spaces: dict[str, str] = {}  # any URL a space was reached by -> its own

    def spaces_for(self, urls: Iterable[str]) -> dict[str, str]:
        return {url: self.spaces[url] for url in urls if url in self.spaces}

    def remember_space(self, urls: Iterable[str], space_url: str) -> None:
        self.spaces.update(dict.fromkeys(urls, space_url))

    def add_linkers(self, page: str, targets: list[tuple[str, str]]) -> None:
        for target, anchor in targets:
            pages = self.linkers.setdefault(target, {})
            if len(pages) < LINKERS_PER_TARGET:
                pages.setdefault(page, anchor)

    def pop_linkers(self, targets: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for target in targets:
            for page, anchor in self.linkers.pop(target, {}).items():
                found.setdefault(page, anchor)
        return found


# Add a linking page to a target's hash unless the hash is full; keep the hash alive.
_ADD_LINKER = """
if redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
"""


class RedisLinks:
    """The link memory of a distributed crawl, in Redis under the crawl's key prefix.

    One round trip per page and question: the spaces among a page's links come in one
    HMGET, its pending links go out in one pipeline. Keys expire `keep_s` after their
    last write, like the frontier's own.
    """

    def __init__(self, client: redis.Redis, prefix: str, keep_s: int) -> None:
        self.client = client
        self.spaces_key = f"{prefix}:spaces"
        self.linkers_prefix = f"{prefix}:linkers:"
        self.keep_s = keep_s
        self._add = client.register_script(_ADD_LINKER)

    def spaces_for(self, urls: Iterable[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(urls))
        if not wanted:
            return {}
        values = self.client.hmget(self.spaces_key, wanted)
        return {url: as_text(value) for url, value in zip(wanted, values, strict=True) if value}

    def remember_space(self, urls: Iterable[str], space_url: str) -> None:
        mapping: dict[FieldT, EncodableT] = dict.fromkeys(urls, space_url)
        if not mapping:
            return
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(self.spaces_key, mapping=mapping)
        pipe.expire(self.spaces_key, self.keep_s)
        pipe.execute()

    def add_linkers(self, page: str, targets: list[tuple[str, str]]) -> None:
        if not targets:
            return
        pipe = self.client.pipeline(transaction=False)
        for target, anchor in targets:
            key = self.linkers_prefix + target
            args: list[EncodableT] = [page, anchor, LINKERS_PER_TARGET, self.keep_s]
            self._add(keys=[key], args=args, client=pipe)
        pipe.execute()

    def pop_linkers(self, targets: Iterable[str]) -> dict[str, str]:
        keys = [self.linkers_prefix + target for target in dict.fromkeys(targets)]
        if not keys:
            return {}
        # Read and delete together, so two processes never both claim the same sightings.
        pipe = self.client.pipeline(transaction=True)
        for key in keys:
            pipe.hgetall(key)
        pipe.delete(*keys)
        *hashes, _ = pipe.execute()
        found: dict[str, str] = {}
        for pages in hashes:
            for page, anchor in pages.items():
                found.setdefault(as_text(page), as_text(anchor))
        return found


def link_memory(settings: Any) -> LinkMemory:
    """Return the link memory a crawl with these Scrapy settings should use."""
    prefix = settings.get("SPACES_FRONTIER_PREFIX", "")
    if not prefix:
        return LocalLinks()
    return RedisLinks(redis.Redis.from_url(settings["REDIS_URL"]), prefix, KEEP_S)
