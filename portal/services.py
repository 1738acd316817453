"""Build every client once: catalog, search backend, index sync, Redis."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import redis

from portal.cache import bump_generation, cache_ttl
from portal.catalog.db import Catalog
from portal.config import Config
from portal.search.base import SearchBackend
from portal.search.documents import IndexSync


def make_search_backend(config: Config, catalog: Catalog) -> SearchBackend:
    """Choose the search backend: Elasticsearch if configured, else the database's own."""
    if config.elasticsearch_url:
        from portal.search.elastic import ElasticBackend

        return ElasticBackend.from_url(config.elasticsearch_url)
    if catalog.dialect == "postgresql":
        from portal.search.postgres import PostgresBackend

        return PostgresBackend(catalog)
    from portal.search.fts5 import Fts5Backend

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
        from portal.redisconn import connect

        return connect(self.config.redis_url, self.config.data_dir)

    def close(self) -> None:
        """Release the database pool and any Redis client this object opened."""
        self.catalog.dispose()
        if self._redis is None and "redis" in self.__dict__:
            from portal.redisconn import close

            close(self.__dict__.pop("redis"))


def build_services(config: Config, *, search: SearchBackend | None = None) -> Services:
    """Create the catalog and search backend and wire index sync after commit."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    catalog = Catalog(config.database_url)
    backend = search or make_search_backend(config, catalog)
    sync = IndexSync(catalog, backend)
    catalog.on_commit(sync)
    # Listeners hear of spaces going live through the same seam as the index.
    from portal.listeners.notify import install as install_notifier

    install_notifier(catalog)
    services = Services(config=config, catalog=catalog, search=backend, sync=sync)
    if cache_ttl(config) > 0:
        # Every process that writes the index tells every portal's response cache of
        # changes that must show at once; the rest show when cached pages expire.
        def written(urgent: bool) -> None:
            if urgent:
                bump_generation(services.redis)

        sync.after_write.append(written)
    return services
