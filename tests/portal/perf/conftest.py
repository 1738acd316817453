"""Fixtures for the response cache: an app with the cache on, and spaces to change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.config import Config
from core.services import Services, build_services
from portal.app import create_app

#: Long enough that only an index change, never expiry, can explain a fresh answer.
TTL_S = 300
#: Short enough to wait out in a test.
SHORT_TTL_S = 0.5


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(extra={"response_cache_ttl_s": TTL_S}, portal_url="http://portal.test")


@pytest.fixture
def make_space(services: Services) -> Callable[..., int]:
    """Create a space through the catalog (so the index is synced); return its id."""

    def make(title: str, **fields: Any) -> int:
        fields.setdefault("state", State.LIVE)
        fields.setdefault("platform", "rooms")
        fields.setdefault("host_handle", "cachehost")
        url = f"http://rooms.test/s/{title.replace(' ', '-')}"
        with services.catalog.session() as session:
            space = upsert_space(session, SpaceRecord(url=url, title=title, **fields))
            session.flush()
            return space.id

    return make


@pytest.fixture
def short_ttl(config: Config) -> Iterator[tuple[Services, FlaskClient]]:
    """Services and a client whose cached answers expire after SHORT_TTL_S."""
    services = build_services(config.with_(extra={"response_cache_ttl_s": SHORT_TTL_S}))
    try:
        yield services, create_app(services.config, services).test_client()
    finally:
        services.close()
