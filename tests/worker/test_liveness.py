from datetime import UTC, datetime, timedelta

import pytest

from core.catalog.models import Space, StateChange
from core.services import Services
from core.timeutil import utcnow
from tests.worker.conftest import StatusServer, add_space, room
from worker import liveness
from worker.liveness_jobs import check_spaces


def load(services: Services, space_id: int) -> Space:
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        session.expunge(space)
        return space


def rooms_space(services: Services, server: StatusServer, room_id: str) -> int:
    return add_space(
        services, f"http://rooms.test/s/{room_id}", status_url=server.status_url(room_id)
    )


def test_live_then_ended_with_counts(
    worker_services: Services, status_server: StatusServer
) -> None:
    space_id = rooms_space(worker_services, status_server, "r1")
    status_server.rooms["r1"] = room("r1", listener_count=42)
    before = utcnow()

    assert check_spaces([space_id]) == {
        "checked": 1,
        "changed": 0,
        "failed": 0,
        "skipped": 0,
        "deferred": 0,
    }
    space = load(worker_services, space_id)
    assert (space.state, space.listener_count, space.speaker_count) == ("live", 42, 2)
    assert space.title == "Room r1"
    assert space.started_at == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert space.last_checked_at >= before and space.check_failures == 0
    assert space.next_check_at - space.last_checked_at == timedelta(seconds=30)

    status_server.rooms["r1"] = room(
        "r1", state="ended", listener_count=0, ended_at="2026-11-23T11:00:00Z"
    )
    assert check_spaces([space_id])["changed"] == 1
    space = load(worker_services, space_id)
    assert space.state == "ended" and space.listener_count == 0
    assert space.ended_at == datetime(2026, 11, 23, 11, tzinfo=UTC)
    with worker_services.catalog.session() as session:
        changes = session.query(StateChange).filter_by(space_id=space_id).all()
        assert [(c.from_state, c.to_state, c.reason) for c in changes][-1] == (
            "live",
            "ended",
            "check",
        )
    assert status_server.requests == ["/api/rooms/r1", "/api/rooms/r1"]


@pytest.mark.parametrize("answer", [404, 410])
def test_missing_room_is_gone(
    worker_services: Services, status_server: StatusServer, answer: int
) -> None:
    space_id = rooms_space(worker_services, status_server, "r2")
    status_server.rooms["r2"] = answer
    check_spaces([space_id])
    space = load(worker_services, space_id)
    assert space.state == "gone" and space.next_check_at is None


def test_server_error_and_timeout_back_off(
    worker_services: Services, status_server: StatusServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(liveness, "TIMEOUT_S", 0.3)
    broken = rooms_space(worker_services, status_server, "r500")
    slow = rooms_space(worker_services, status_server, "slow")
    status_server.rooms.update({"r500": 500, "slow": 2.0})

    assert check_spaces([broken, slow])["failed"] == 2
    for space_id, error in ((broken, "HTTP 500"), (slow, "no answer within 0.3 s")):
        space = load(worker_services, space_id)
        assert space.state == "live", "a failed check must not change the state"
        assert space.check_failures == 1 and error in space.last_check_error
        first_delay = space.next_check_at - space.last_checked_at
    check_spaces([broken])
    space = load(worker_services, broken)
    assert space.check_failures == 2
    assert space.next_check_at - space.last_checked_at == 2 * first_delay


def test_not_allowed_loopback_is_refused_and_never_contacted(
    worker_services: Services, status_server: StatusServer, forbidden_server: StatusServer
) -> None:
    forbidden_server.rooms["r3"] = room("r3", state="ended")
    direct = rooms_space(worker_services, forbidden_server, "r3")
    # An allowed server that redirects to the forbidden one: the hop is checked too.
    status_server.rooms["hop"] = forbidden_server.status_url("r3")
    via_redirect = rooms_space(worker_services, status_server, "hop")

    assert check_spaces([direct, via_redirect])["failed"] == 2
    for space_id in (direct, via_redirect):
        space = load(worker_services, space_id)
        assert space.state == "live"
        assert "refused" in space.last_check_error and "127.0.0.2" in space.last_check_error
    assert forbidden_server.requests == []
    assert status_server.requests == ["/api/rooms/hop"]


def event_page(room_id: str, status_href: str, *, live: bool, end: str | None = None) -> str:
    end_prop = f', "endDate": "{end}"' if end else ""
    return f"""<html><head><title>x</title>
    <link rel="alternate" type="application/json" href="{status_href}">
    <script type="application/ld+json">{{"@type": "BroadcastEvent", "name": "Page {room_id}",
    "isLiveBroadcast": {str(live).lower()}, "startDate": "2026-11-23T10:00:00Z"{end_prop}}}
    </script></head><body></body></html>"""


def test_other_spaces_are_checked_by_re_reading_their_page(
    worker_services: Services, status_server: StatusServer
) -> None:
    url = f"{status_server.base}/s/p1"
    space_id = add_space(worker_services, url, platform="web")
    status_server.pages["p1"] = event_page("p1", "/api/rooms/p1", live=True)
    check_spaces([space_id])
    space = load(worker_services, space_id)
    assert space.state == "live" and space.title == "Page p1" and space.check_failures == 0

    status_server.pages["p1"] = event_page(
        "p1", "/api/rooms/p1", live=True, end="2026-11-23T10:30:00Z"
    )
    check_spaces([space_id])
    assert load(worker_services, space_id).state == "ended"
    del status_server.pages["p1"]
    check_spaces([space_id])
    assert load(worker_services, space_id).state == "gone"
    assert status_server.requests == ["/s/p1"] * 3


def test_x_spaces_are_left_alone_without_an_api_adapter(
    worker_services: Services, status_server: StatusServer
) -> None:
    space_id = add_space(worker_services, "https://x.com/i/spaces/1YqKDqWqdPLxV", platform="x")
    assert check_spaces([space_id]) == {
        "checked": 0,
        "changed": 0,
        "failed": 0,
        "skipped": 1,
        "deferred": 0,
    }
    space = load(worker_services, space_id)
    assert space.state == "live" and space.last_checked_at is None
    assert space.next_check_at > utcnow() + timedelta(minutes=50)
