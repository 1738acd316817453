"""Every state transition a check can make, and when each state is checked next."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from core.catalog.checks import prune_checks, recent_checks, record_observations
from core.catalog.models import Space, SpaceCheck, StateChange
from core.catalog.records import Observation
from core.catalog.schedule import ENDED_RECHECK_S, MAX_BACKOFF_S, SCHEDULED_POLL_S
from core.catalog.schedule import next_check_after as after
from core.catalog.states import State
from core.services import Services
from core.timeutil import utcnow
from tests.worker.conftest import StatusServer, add_space, room
from worker.liveness_jobs import check_spaces, lease

NOW = utcnow()


def space(state: str, failures: int = 0, start=None) -> SimpleNamespace:
    return SimpleNamespace(state=state, check_failures=failures, scheduled_start=start)


def test_live_and_unknown_are_checked_every_interval() -> None:
    assert after(space("live"), NOW, 30, failed=False) == NOW + timedelta(seconds=30)
    assert after(space("unknown"), NOW, 30, failed=False) == NOW + timedelta(seconds=30)


def test_scheduled_every_few_minutes_then_at_and_after_its_start() -> None:
    far = NOW + timedelta(hours=2)
    near = NOW + timedelta(seconds=90)
    past = NOW - timedelta(minutes=1)
    poll = timedelta(seconds=SCHEDULED_POLL_S)
    assert after(space("scheduled", start=far), NOW, 30, failed=False) == NOW + poll
    assert after(space("scheduled", start=near), NOW, 30, failed=False) == near
    assert after(space("scheduled", start=past), NOW, 30, failed=False) == NOW + timedelta(
        seconds=30
    )
    assert after(space("scheduled"), NOW, 30, failed=False) == NOW + poll


def test_ended_is_rechecked_once_then_never_and_gone_never() -> None:
    ended = space("ended")
    first = after(ended, NOW, 30, failed=False, previous=State.LIVE)
    assert first == NOW + timedelta(seconds=ENDED_RECHECK_S)
    assert after(ended, NOW, 30, failed=False, previous=State.ENDED) is None
    assert after(space("gone"), NOW, 30, failed=False, previous=State.LIVE) is None


def test_failures_back_off_exponentially_up_to_a_cap() -> None:
    delays = [
        (after(space("live", n), NOW, 30, failed=True) - NOW).total_seconds() for n in range(1, 10)
    ]
    assert delays[:5] == [30, 60, 120, 240, 480]
    assert max(delays) == MAX_BACKOFF_S
    scheduled = after(space("scheduled", 2), NOW, 30, failed=True) - NOW
    assert scheduled == timedelta(seconds=2 * SCHEDULED_POLL_S)
    # A finished space whose checks keep failing is left alone after a few tries.
    assert after(space("ended", 3), NOW, 30, failed=True) is None


def test_the_lease_follows_the_interval_within_bounds() -> None:
    assert lease(30) == timedelta(minutes=2)
    assert lease(0.5) == timedelta(seconds=5)
    assert lease(3600) == timedelta(seconds=240)


TRANSITIONS = [
    # (seeded state, what the room server says, state after, recorded change)
    ("live", "ended", "ended", ("live", "ended")),
    ("live", 404, "gone", ("live", "gone")),
    ("live", 410, "gone", ("live", "gone")),
    ("ended", "live", "live", ("ended", "live")),  # a host resumed the room
    ("ended", 404, "gone", ("ended", "gone")),
    ("gone", "live", "live", ("gone", "live")),
    ("scheduled", "live", "live", ("scheduled", "live")),
    ("scheduled", "ended", "ended", ("scheduled", "ended")),
    ("unknown", "scheduled", "scheduled", ("unknown", "scheduled")),
    ("unknown", "live", "live", ("unknown", "live")),
    ("ended", "scheduled", "ended", None),  # refused: a stale or forged report
    ("live", "scheduled", "live", None),
    ("live", "live", "live", None),
]


@pytest.mark.parametrize(("before", "answer", "state", "change"), TRANSITIONS)
def test_transition(
    worker_services: Services,
    status_server: StatusServer,
    before: str,
    answer: str | int,
    state: str,
    change: tuple[str, str] | None,
) -> None:
    space_id = add_space(
        worker_services, "http://rooms.test/s/t", status_url=status_server.status_url("t")
    )
    with worker_services.catalog.session() as session:
        session.get(Space, space_id).state = before
    status_server.rooms["t"] = room("t", state=answer) if isinstance(answer, str) else answer
    for _ in range(2):  # the second check of the same answer must record nothing more
        check_spaces([space_id])
    with worker_services.catalog.session() as session:
        assert session.get(Space, space_id).state == state
        changes = session.scalars(
            select(StateChange).where(
                StateChange.space_id == space_id, StateChange.reason == "check"
            )
        ).all()
        assert [(c.from_state, c.to_state) for c in changes] == ([change] if change else [])
        log = recent_checks(session, space_id)
        assert [c.ok for c in log] == [True, True] and log[0].state == str(
            answer if isinstance(answer, str) else "gone"
        )


def test_an_observation_older_than_the_last_check_is_dropped(worker_services: Services) -> None:
    space_id = add_space(worker_services, "http://rooms.test/s/old")
    with worker_services.catalog.session() as session:
        record_observations(session, {space_id: Observation(State.ENDED)}, interval_s=30, now=NOW)
    with worker_services.catalog.session() as session:
        # A batch that probed earlier but commits later (its lease ran out meanwhile).
        late = record_observations(
            session,
            {space_id: Observation(State.LIVE)},
            interval_s=30,
            now=NOW - timedelta(seconds=5),
        )
        assert late == {space_id: False}
        assert session.get(Space, space_id).state == "ended"
        assert (
            len(session.scalars(select(SpaceCheck).where(SpaceCheck.space_id == space_id)).all())
            == 1
        )


def test_check_log_is_pruned_by_age_and_count(worker_services: Services) -> None:
    ids = [add_space(worker_services, f"http://rooms.test/s/p{n}") for n in range(2)]
    with worker_services.catalog.session() as session:
        for minutes in range(30):
            at = NOW - timedelta(hours=30) + timedelta(hours=minutes)
            for space_id in ids:
                session.add(SpaceCheck(space_id=space_id, at=at, ok=True, state="live"))
    with worker_services.catalog.session() as session:
        # 30 hourly checks each: 6 are older than a day, and only 20 of the rest are kept.
        assert prune_checks(session, NOW, keep=20) == 2 * (6 + 4)
    with worker_services.catalog.session() as session:
        for space_id in ids:
            kept = recent_checks(session, space_id, limit=100)
            assert len(kept) == 20 and kept[0].at == NOW - timedelta(hours=1)
