"""Crawl jobs: a real Scrapy crawl in a child process, figures recorded on the source."""

from sqlalchemy import select

from core.catalog.models import Source, Space
from core.catalog.sources import add_source, pause_source
from core.services import Services
from tests.worker.conftest import StatusServer
from tests.worker.test_liveness import event_page
from worker.jobs import crawl_source, crawl_url


def test_crawl_source_records_the_run_and_lands_spaces(
    worker_services: Services, status_server: StatusServer
) -> None:
    # An organizer, since upsert_space cannot yet create a host-less space with a state
    # (it reads the new row's state before its first flush); reported to its owner.
    page = event_page("c1", "/api/rooms/c1", live=True)
    status_server.pages["c1"] = page.replace(
        '"@type": "BroadcastEvent",', '"@type": "BroadcastEvent", "organizer": {"name": "Ella"},'
    )
    url = f"{status_server.base}/s/c1"
    with worker_services.catalog.session() as session:
        source_id = add_source(session, url, depth=0).id

    result = crawl_source(source_id)
    assert result["pages"] >= 1 and result["spaces"] == 1, result
    with worker_services.catalog.session() as session:
        source = session.get(Source, source_id)
        assert (source.last_pages, source.last_spaces, source.last_error) == (
            result["pages"],
            1,
            "",
        )
        assert source.last_run_at is not None and source.next_run_at > source.last_run_at
        space = session.scalars(select(Space)).unique().one()
        assert space.title == "Page c1" and space.state == "live"

    # A ping for the same URL is a crawl of it, and counts as a run of that source.
    first_run = source.last_run_at
    assert crawl_url(url)["spaces"] == 1
    with worker_services.catalog.session() as session:
        assert session.get(Source, source_id).last_run_at > first_run
        pause_source(session, source_id)
    assert crawl_source(source_id) is None, "a paused source is not crawled"
    assert crawl_source(source_id + 1000) is None, "nor a removed one"
