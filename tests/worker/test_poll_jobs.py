"""Polls of API sources: a crawler process polls many at once, the worker records each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rq import Queue
from sqlalchemy import select

from bench.peers.mastodon_server import MastodonServer, card
from core.catalog.models import Sighting, Source, Space
from core.catalog.sources import add_source
from core.queues import CRAWL, POLL_SOURCES_JOB
from core.services import Services
from worker.jobs import crawl_source, poll_sources, schedule_sources

SPACE = "https://x.com/i/spaces/1OwxWwzBVXRGQ"
OTHER = "https://x.com/i/spaces/1YpJkgXoLNbJj"


@pytest.fixture
def mastodon() -> Iterator[MastodonServer]:
    server = MastodonServer().start()
    yield server
    server.stop()


def test_a_poll_lands_shared_spaces_with_their_posts_and_resumes_where_it_stopped(
    worker_services: Services, mastodon: MastodonServer
) -> None:
    author = mastodon.add_account("ella")
    first = mastodon.publish(
        author, f"Live now: {SPACE.removeprefix('https://')}", tags=("spaces",)
    )
    with worker_services.catalog.session() as session:
        source_id = add_source(session, f"{mastodon.base}/tags/spaces", kind="mastodon").id

    outcome = poll_sources([source_id])[source_id]
    assert outcome["reason"] == "" and outcome["spaces"] == 1, outcome
    with worker_services.catalog.session() as session:
        space = session.scalars(select(Space)).unique().one()
        assert space.canonical_url == SPACE
        sighting = session.scalars(select(Sighting)).one()
        assert sighting.page_url == first["url"]
        source = session.get(Source, source_id)
        assert source.cursor and source.last_ok_at is not None and source.failures == 0
        assert source.last_spaces == 1 and source.next_run_at > source.last_run_at

    # The next poll asks only for what is newer than the last status read.
    mastodon.publish(author, "Tonight", tags=("spaces",), card=card(OTHER))
    assert crawl_source(source_id)["spaces"] == 1
    assert f"since_id={first['id']}" in mastodon.requests[-1]
    with worker_services.catalog.session() as session:
        urls = set(session.scalars(select(Space.canonical_url)))
        assert urls == {SPACE, OTHER}


def test_a_failing_source_records_its_reason_and_the_others_still_land(
    worker_services: Services, mastodon: MastodonServer
) -> None:
    author = mastodon.add_account("ben")
    mastodon.publish(author, f"Join {SPACE}", tags=("audio",))
    with worker_services.catalog.session() as session:
        good = add_source(session, f"{mastodon.base}/tags/audio", kind="mastodon").id
        gone = add_source(session, f"{mastodon.base}/@nobody", kind="mastodon").id

    outcomes = poll_sources([good, gone])
    assert outcomes[good]["reason"] == "" and outcomes[gone]["reason"] == "gone"
    with worker_services.catalog.session() as session:
        assert session.get(Source, gone).failures == 1
        assert session.get(Source, gone).reason == "gone"
        assert session.get(Source, good).failures == 0
        assert session.scalars(select(Space.canonical_url)).all() == [SPACE]


def test_due_api_sources_are_queued_together_and_web_sources_one_by_one(
    queued_services: Services, mastodon: MastodonServer
) -> None:
    with queued_services.catalog.session() as session:
        polls = [
            add_source(session, f"{mastodon.base}/tags/t{n}", kind="mastodon").id for n in range(3)
        ]
        add_source(session, f"{mastodon.base}/page", kind="page")
    assert schedule_sources() == 2
    jobs = Queue(CRAWL, connection=queued_services.redis).get_jobs()
    batched = [job for job in jobs if job.func_name == POLL_SOURCES_JOB]
    assert len(batched) == 1 and sorted(batched[0].args[0]) == sorted(polls)
