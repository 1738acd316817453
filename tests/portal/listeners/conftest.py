"""The listener pages' tests: the operator allows the local push service's address."""

from __future__ import annotations

import pytest

from core.config import Config


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(crawl_allow=("127.0.0.1",))
