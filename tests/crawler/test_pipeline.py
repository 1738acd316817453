"""The catalog pipeline: a sighting of a space not written yet waits for it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select

from core.catalog.models import Sighting
from core.catalog.records import SpaceRecord
from core.services import Services
from crawler import pipelines
from crawler.items import FoundSpace, Share
from crawler.pipelines import CatalogPipeline

SPACE = "http://rooms.test/s/waiting"


def sightings(services: Services) -> int:
    with services.catalog.session() as session:
        return session.scalar(select(func.count(Sighting.id)))


def test_a_sighting_waits_for_its_space_from_another_process(services: Services) -> None:
    pipeline = CatalogPipeline()
    pipeline.services = services
    pipeline.process_item(Share(SPACE, "http://blog.test/a", "listen"))
    pipeline.flush()
    assert sightings(services) == 0 and len(pipeline.waiting) == 1
    # Another crawler process writes the space it found.
    other = CatalogPipeline()
    other.services = services
    other.process_item(FoundSpace(SpaceRecord(url=SPACE, title="Waiting"), page_url=""))
    other.flush()
    pipeline.flush()
    assert sightings(services) == 1 and pipeline.waiting == []


def test_a_sighting_whose_space_never_comes_is_dropped_with_a_warning(
    services: Services, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(pipelines, "SHARE_WAIT_S", 0.0)
    pipeline = CatalogPipeline()
    pipeline.services = services
    pipeline.process_item(Share(SPACE, "http://blog.test/a", "listen"))
    with caplog.at_level(logging.WARNING, logger="crawler.pipelines"):
        pipeline.flush()
    assert pipeline.waiting == []
    assert "1 sightings dropped" in caplog.text
