"""A few seconds' cache of rendered search responses, shared by every portal process.

Search pages and the search API are the same for every anonymous visitor, and popular
queries repeat many times a second, so rendering each one afresh is wasted work. An
entry is kept in Redis (so every portal process shares it) under a key made of the
normalised query, and lives for the TTL (5 s): a space that goes live, ends, or gains
listeners shows in listings within that long of its index sync. With thousands of live
spaces re-checked every 30 s the index is written many times a second, and a cache
dropped on each write would hold nothing.

What curators do must show at once: hiding a space, deleting it, featuring it. Each
entry is tagged with the index generation it was rendered at, a counter that IndexSync
bumps after such a write. A lookup reads the current generation and the entry in one
round trip and serves the entry only if the two agree, so a hidden space is gone from
the very next response. The TTL also bounds relative times ("12 s ago") and any bump
that failed to reach Redis.

Every bump makes every popular query miss at once, so misses are coalesced: one request
renders a key while the others asking for it (threads of this process, and other
processes through a short Redis lock) wait a little and then serve what it stored, if
it was rendered at the generation that is current when they look.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import redis
from flask import Response, current_app, request, session
from flask.sansio.app import App

from core.search.generation import current_generation
from portal.context import EXTENSION as SERVICES

log = logging.getLogger(__name__)

EXTENSION = "response_cache"
ENTRY_PREFIX = "spaces:response:"
#: Entries each process keeps in memory besides Redis (a few MB of pages).
LOCAL_ENTRIES = 256
#: Responses larger than this are not worth a Redis round trip of their size.
MAX_BODY = 512 * 1024
#: Longest a request waits for another one's render of the same key before rendering itself.
WAIT_S = 0.25
#: Life of the lock saying "rendering this key"; a render that dies leaves it this long.
RENDER_LOCK_MS = 1000

RedisSource = Callable[[], redis.Redis]


@dataclass(frozen=True)
class Cached:
    """A successful response as it was rendered: its content type and body."""

    mimetype: str
    body: bytes


@dataclass
class Lookup:
    """The outcome of one lookup: the entry if fresh, and the generation it was read at."""

    hit: Cached | None
    generation: int | None


def entry_key(kind: str, parts: tuple[object, ...]) -> str:
    """Return the Redis key of a response: its kind and a digest of the normalised request."""
    digest = hashlib.sha1(json.dumps(parts).encode(), usedforsecurity=False).hexdigest()
    return f"{ENTRY_PREFIX}{kind}:{digest}"


@dataclass
class _Flight:
    """A render of one key at one generation under way in this process."""

    generation: int
    done: threading.Event = field(default_factory=threading.Event)


class ResponseCache:
    """Keep rendered responses in Redis for a few seconds, per index generation."""

    def __init__(self, source: RedisSource, ttl_s: float) -> None:
        self._source = source
        self.ttl_ms = int(ttl_s * 1000)
        self._failing = False
        # Bodies this process rendered or fetched, by key: (generation, expiry, entry).
        self._local: OrderedDict[str, tuple[int, float, Cached]] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}

    @property
    def enabled(self) -> bool:
        return self.ttl_ms > 0

    def lookup(self, key: str) -> Lookup:
        """Return the entry under `key` if it was rendered at the current generation.

        The generation is one small read; an entry this process already holds for it is
        served without fetching the body again, so most hits move a few bytes.
        """
        try:
            client = self._source()
            current = current_generation(client)
            local = self._local.get(key)
            if local is not None and local[0] == current and local[1] > time.time():
                self._recovered()
                return Lookup(local[2], current)
            raw = client.get(key)
        except redis.RedisError:
            self._trouble()
            return Lookup(None, None)
        self._recovered()
        # The client does not decode responses, so an entry comes back as bytes.
        found = _decode(raw, current) if isinstance(raw, bytes) and raw else None
        if found is not None:
            self._remember(key, current, *found)
        return Lookup(found[1] if found else None, current)

    @contextmanager
    def single_flight(self, key: str, generation: int) -> Iterator[Lookup]:
        """Yield what a concurrent render of `key` stored, or a miss for the caller to render.

        A miss is yielded with the generation to store the caller's render at. Threads
        of this process wait on the one that leads; the leader takes a Redis lock, or
        waits for the process holding it. Waiting ends after WAIT_S at most.
        """
        with self._lock:
            flight = self._flights.get(key)
            leads = flight is None or flight.generation != generation
            if leads:
                flight = self._flights[key] = _Flight(generation)
        assert flight is not None
        if not leads:
            flight.done.wait(WAIT_S)
            yield self.lookup(key)
            return
        lock = f"{key}:{generation}:rendering"
        owned = False
        try:
            owned, found = self._await_other_process(key, generation, lock)
            yield found
        finally:
            with self._lock:
                if self._flights.get(key) is flight:
                    del self._flights[key]
            flight.done.set()
            if owned:
                self._release(lock)

    def _await_other_process(self, key: str, generation: int, lock: str) -> tuple[bool, Lookup]:
        """Return (whether this process took the render lock, what to serve or render)."""
        try:
            client = self._source()
            if client.set(lock, b"1", nx=True, px=RENDER_LOCK_MS):
                return True, Lookup(None, generation)
            deadline = time.monotonic() + WAIT_S
            pause = 0.002
            while time.monotonic() < deadline:
                time.sleep(pause)
                pause = min(pause * 2, 0.02)
                found = self.lookup(key)
                # A newer generation makes the awaited render useless: render for it.
                if found.hit is not None or found.generation != generation:
                    return False, found
                if not client.exists(lock):
                    return False, self.lookup(key)  # the render ended without storing
        except redis.RedisError:
            self._trouble()
        return False, Lookup(None, generation)

    def _release(self, lock: str) -> None:
        try:
            self._source().delete(lock)
        except redis.RedisError:
            self._trouble()

    def store(self, key: str, generation: int, entry: Cached) -> None:
        """Keep `entry` as rendered at `generation` for the TTL."""
        if len(entry.body) > MAX_BODY:
            return
        expires = time.time() + self.ttl_ms / 1000
        head = json.dumps({"g": generation, "m": entry.mimetype, "x": expires}).encode()
        try:
            self._source().set(key, head + b"\n" + entry.body, px=self.ttl_ms)
        except redis.RedisError:
            self._trouble()
            return
        self._remember(key, generation, expires, entry)

    def _remember(self, key: str, generation: int, expires: float, entry: Cached) -> None:
        with self._lock:
            self._local[key] = (generation, expires, entry)
            self._local.move_to_end(key)
            while len(self._local) > LOCAL_ENTRIES:
                self._local.popitem(last=False)

    def _trouble(self) -> None:
        # Serving uncached is slower but correct; say so once, not on every request.
        if not self._failing:
            log.exception("response cache unavailable; serving uncached until Redis answers")
        self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.warning("response cache available again")
        self._failing = False


def _decode(raw: bytes, generation: int) -> tuple[float, Cached] | None:
    head, _, body = raw.partition(b"\n")
    meta = json.loads(head)
    if meta["g"] != generation:
        return None  # rendered before the index last changed
    return meta["x"], Cached(mimetype=meta["m"], body=body)


def install(app: App) -> ResponseCache:
    """Return the app's response cache, creating it on first use (blueprints share one)."""
    found = app.extensions.get(EXTENSION)
    if found is None:
        services = app.extensions[SERVICES]
        found = ResponseCache(lambda: services.redis, services.config.response_cache_ttl_s)
        app.extensions[EXTENSION] = found
    return found


def serve(kind: str, parts: tuple[object, ...], render: Callable[[], Response], *,
          per_visitor: bool) -> Response:  # fmt: skip
    """Return the cached response for this normalised request, or render and keep it.

    `per_visitor` pages show who is signed in, so a request with any session cookie is
    rendered afresh and never kept; anonymous visitors carry no cookie at all.
    """
    cache: ResponseCache = current_app.extensions[EXTENSION]
    if not cache.enabled or (per_visitor and _has_session()):
        return render()
    key = entry_key(kind, parts)
    found = cache.lookup(key)
    if found.hit is not None:
        return _served(found.hit)
    if found.generation is None:
        return _rendered(cache, key, None, render)
    with cache.single_flight(key, found.generation) as flown:
        if flown.hit is not None:
            return _served(flown.hit)
        return _rendered(cache, key, flown.generation, render)


def _served(entry: Cached) -> Response:
    response = Response(entry.body, mimetype=entry.mimetype)
    response.headers["X-Cache"] = "hit"
    return response


def _rendered(
    cache: ResponseCache, key: str, generation: int | None, render: Callable[[], Response]
) -> Response:
    response = render()
    response.headers["X-Cache"] = "miss"
    # A render that touched the session (a CSRF token, a flash) is this visitor's alone.
    if generation is not None and response.status_code == 200 and not session.modified:
        cache.store(key, generation, Cached(response.mimetype or "", response.get_data()))
    return response


def _has_session() -> bool:
    return current_app.config["SESSION_COOKIE_NAME"] in request.cookies
