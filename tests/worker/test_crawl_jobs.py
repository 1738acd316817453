"""Crawl jobs: a real Scrapy crawl in a child process, figures recorded on the source,
outcomes on hosts' submissions."""

from sqlalchemy import select

from core.catalog.models import HostedRoom, Source, Space, Submission
from core.catalog.sources import add_source, pause_source
from core.services import Services
from portal.accounts.users import create_user
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


def _submit(services: Services, url: str) -> int:
    with services.catalog.session() as session:
        user = create_user(session, "host@example.org", "correct horse battery", is_host=True)
        row = Submission(user_id=user.id, url=url)
        session.add(row)
        session.flush()
        return row.id


def _outcome(services: Services, submission_id: int) -> tuple[str, list[str], str]:
    with services.catalog.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row is not None and row.crawled_at is not None
        return row.outcome, row.found_urls, row.reason


def test_a_submitted_link_records_the_spaces_it_found(
    worker_services: Services, status_server: StatusServer
) -> None:
    page = event_page("f1", "/api/rooms/f1", live=True)
    status_server.pages["f1"] = page.replace(
        '"@type": "BroadcastEvent",', '"@type": "BroadcastEvent", "organizer": {"name": "Ella"},'
    )
    url = f"{status_server.base}/s/f1"
    submission_id = _submit(worker_services, url)
    crawl_url(url)
    assert _outcome(worker_services, submission_id) == ("found", [url], "")


def test_a_submitted_link_without_a_space_records_nothing(
    worker_services: Services, status_server: StatusServer
) -> None:
    status_server.pages["plain"] = "<html><head><title>Hi</title></head><body>Hi</body></html>"
    url = f"{status_server.base}/s/plain"
    submission_id = _submit(worker_services, url)
    crawl_url(url)
    assert _outcome(worker_services, submission_id) == ("nothing", [], "")


def test_a_submitted_link_to_a_private_address_records_why_it_was_refused(
    worker_services: Services, forbidden_server: StatusServer
) -> None:
    url = f"{forbidden_server.base}/s/x"
    submission_id = _submit(worker_services, url)
    crawl_url(url)
    outcome, found, reason = _outcome(worker_services, submission_id)
    assert (outcome, found) == ("failed", [])
    assert "127.0.0.2" in reason or "private" in reason.lower(), reason
    assert forbidden_server.requests == [], "the private address was never fetched"


def test_a_room_opened_from_the_portal_is_listed_under_its_hosts_handle(
    worker_services: Services, status_server: StatusServer
) -> None:
    page = event_page("h1", "/api/rooms/h1", live=True)
    status_server.pages["h1"] = page.replace(
        '"@type": "BroadcastEvent",',
        '"@type": "BroadcastEvent", "organizer": {"name": "Ann", "identifier": "user-1"},',
    )
    url = f"{status_server.base}/s/h1"
    with worker_services.catalog.session() as session:
        user = create_user(
            session, "ann@example.org", "correct horse battery", handle="ann_lee", is_host=True
        )
        session.add(
            HostedRoom(user_id=user.id, room_id="h1", rooms_url=status_server.base, share_url=url)
        )
    crawl_url(url)
    with worker_services.catalog.sessions() as session:
        space = session.scalars(select(Space).where(Space.canonical_url == url)).unique().one()
        assert space.host is not None and space.host.handle == "ann_lee"
