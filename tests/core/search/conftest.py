"""Every search backend available here, each on a fresh, empty index."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from core.catalog.db import Catalog
from core.search.base import SearchBackend
from tests.conftest import free_port
from tests.core.search.osmem import PlainJsonNode, running_osmem
from tests.support import migrate_catalog

ELASTICSEARCH_URL = os.environ.get("SPACES_TEST_ELASTICSEARCH_URL", "")

BACKENDS = ["fts5", "postgres", "osmem", "elasticsearch"]


@pytest.fixture(scope="session")
def osmem_url() -> Iterator[str]:
    """One osmem-server for the session; each test gets its own index prefix."""
    with running_osmem(free_port()) as url:
        yield url


def _catalog(url: str) -> Catalog:
    migrate_catalog(url)
    return Catalog(url)


def _elastic(url: str, **client_kwargs: object) -> Iterator[SearchBackend]:
    from core.search.elastic import ElasticBackend

    prefix = f"spaces-test-{uuid.uuid4().hex[:10]}"
    backend = ElasticBackend.from_url(url, index_prefix=prefix, **client_kwargs)
    backend.refresh = True
    backend.ensure()
    try:
        yield backend
    finally:
        backend.client.indices.delete(index=f"{prefix}-*", ignore_unavailable=True)
        backend.client.close()


@contextmanager
def build_backend(request: pytest.FixtureRequest, kind: str) -> Iterator[SearchBackend]:
    """Yield an empty backend of this kind (skipping the test where it cannot run)."""
    if kind in ("osmem", "elasticsearch"):
        if kind == "osmem":
            url, kwargs = request.getfixturevalue("osmem_url"), {"node_class": PlainJsonNode}
        elif not ELASTICSEARCH_URL:
            pytest.skip("set SPACES_TEST_ELASTICSEARCH_URL to test against Elasticsearch")
        else:
            url, kwargs = ELASTICSEARCH_URL, {}
        yield from _elastic(url, **kwargs)
        return
    if kind == "fts5":
        from core.search.fts5 import Fts5Backend

        catalog = _catalog(request.getfixturevalue("sqlite_url"))
        built: SearchBackend = Fts5Backend(catalog)
    else:
        from core.search.postgres import PostgresBackend

        catalog = _catalog(request.getfixturevalue("postgres_url"))
        built = PostgresBackend(catalog)
    built.ensure()
    try:
        yield built
    finally:
        catalog.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[SearchBackend]:
    """An empty search backend: FTS5 always, the others where they can run."""
    with build_backend(request, request.param) as built:
        yield built
