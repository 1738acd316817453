"""Build every client once: catalog, search backend, index sync, Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import redis

from core.catalog.db import Catalog
from core.catalog.notifications import install as install_notifier
from core.config import Config
from core.queues import enqueue_dispatch
from core.redisconn import close, connect
from core.search.base import SearchBackend
from core.search.documents import IndexSync
from core.search.fts5 import Fts5Backend
from core.search.generation import bump_generation
from core.search.postgres import PostgresBackend


def make_search_backend(config: Config, catalog: Catalog) -> SearchBackend:
    """Choose the search backend: Elasticsearch if configured, else the database's own."""
    if config.elasticsearch_url:
        # The Elasticsearch client is heavy to import; only a configured cluster needs it.
        from core.search.elastic import ElasticBackend

        return ElasticBackend.from_url(config.elasticsearch_url)
    if catalog.dialect == "postgresql":
        return PostgresBackend(catalog)
    return Fts5Backend(catalog)


@dataclass
class Services:
    """The clients one process uses, built once and shared."""

    config: Config
    catalog: Catalog
    search: SearchBackend
    sync: IndexSync
    _redis: redis.Redis | None = field(default=None, repr=False)

    @cached_property
    def redis(self) -> redis.Redis:
        """Return the Redis client, starting the embedded server on first use if needed."""
        if self._redis is not None:
            return self._redis
        return connect(self.config.redis_url, self.config.data_dir)

    @property
    def redis_in_use(self) -> bool:
        """Return True if this process has its Redis client already (none is started)."""
        return self._redis is not None or "redis" in self.__dict__

    def close(self) -> None:
        """Release the database pool and any Redis client this object opened."""
        self.catalog.dispose()
        if self._redis is None and "redis" in self.__dict__:
            close(self.__dict__.pop("redis"))


def build_services(config: Config, *, search: SearchBackend | None = None) -> Services:
    """Create the catalog and search backend and wire index sync after commit."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(config.database_url)
    backend = search or make_search_backend(config, catalog)
    sync = IndexSync(catalog, backend)
    catalog.on_commit(sync)
    services = Services(config=config, catalog=catalog, search=backend, sync=sync)

    def dispatch_now() -> None:
        # Only a process already using Redis asks; the schedule finds them otherwise.
        if services.redis_in_use:
            enqueue_dispatch(services)

    # Listeners hear of spaces going live through the same seam as the index; the
    # worker's delivery jobs send their push and mail moments later.
    install_notifier(catalog, dispatch_now)
    if config.response_cache_ttl_s > 0:
        # Every process that writes the index tells every portal's response cache of
        # changes that must show at once; the rest show when cached pages expire.
        def written(urgent: bool) -> None:
            if urgent:
                bump_generation(services.redis)

        sync.after_write.append(written)
    return services
