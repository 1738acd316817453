"""Fixtures for the portal's pages and API: an app on the test services, and a space maker."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from core.catalog.models import Space
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import record_observation, record_sighting, upsert_space
from core.catalog.states import State
from core.config import Config
from core.services import Services
from core.timeutil import utcnow

ROOMS = "http://rooms.test:8100"


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(rooms_url=ROOMS, portal_url="http://portal.test")


MakeSpace = Callable[..., int]


@pytest.fixture
def make_space(services: Services) -> MakeSpace:
    """Create a space through the catalog's own functions; return its id.

    `checked` records a successful liveness check at that time, `shared_on` adds
    sightings, `hidden` hides it; the other keywords go to the SpaceRecord.
    """
    counter = iter(range(1, 10_000))

    def make(
        *,
        checked: datetime | None = None,
        shared_on: tuple[str, ...] = (),
        hidden: bool = False,
        featured: bool = False,
        updated_at: datetime | None = None,
        **fields: Any,
    ) -> int:
        n = next(counter)
        fields.setdefault("platform", "rooms")
        default_url = (
            f"{ROOMS}/s/r{n}" if fields["platform"] == "rooms" else f"https://x.com/i/spaces/1{n}"
        )
        fields.setdefault("url", default_url)
        fields.setdefault("title", f"Space number {n}")
        fields.setdefault("state", State.LIVE)
        fields.setdefault("host_handle", f"host{n}")
        fields.setdefault("host_name", f"Host {n}")
        with services.catalog.session() as session:
            space = upsert_space(session, SpaceRecord(**fields))
            session.flush()
            for page in shared_on:
                record_sighting(session, space, page, f"listen to {space.title}")
            space.hidden = hidden
            space.featured = featured
            if updated_at is not None:
                space.updated_at = updated_at
            space_id = space.id
        if checked is not None:
            with services.catalog.session() as session:
                space = session.get(Space, space_id)
                record_observation(
                    session, space, Observation(state=State(space.state)), now=checked
                )
        return space_id

    return make


@pytest.fixture
def now() -> datetime:
    return utcnow()
