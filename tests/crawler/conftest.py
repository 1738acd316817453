"""Fixtures for crawl tests: an allowed site on 127.0.0.1 and a canary on 127.0.0.2."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.peers.sites import Site
from core.config import Config
from core.services import Services

#: Test crawls skip the polite delays; the settings themselves are tested separately.
FAST = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}


@pytest.fixture
def canary() -> Iterator[Site]:
    """An HTTP server on 127.0.0.2, which the crawler must never reach."""
    server = Site("127.0.0.2").start()
    yield server
    server.stop()


@pytest.fixture
def crawl_config(config: Config, services: Services) -> Config:
    """A migrated catalog's configuration, with only 127.0.0.1 exempt from the block."""
    return config.with_(crawl_allow=("127.0.0.1",))
