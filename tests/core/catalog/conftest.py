"""Fixtures for catalog tests: a migrated catalog on each database available."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.catalog.db import Catalog
from tests.support import migrate_catalog


@pytest.fixture
def catalog(database_url: str) -> Iterator[Catalog]:
    migrate_catalog(database_url)
    built = Catalog(database_url)
    yield built
    built.dispose()
