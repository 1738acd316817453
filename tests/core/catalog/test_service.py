from datetime import timedelta

from sqlalchemy import select

from core.catalog.db import Catalog
from core.catalog.models import Sighting, Space, StateChange
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import (
    due_space_ids,
    record_observation,
    record_sighting,
    upsert_space,
)
from core.catalog.states import State
from core.timeutil import utcnow


def record(**kw) -> SpaceRecord:
    base = dict(
        url="http://rooms.test/s/abc",
        platform="rooms",
        title="Morning jazz",
        host_handle="ella",
        host_name="Ella",
        state=State.LIVE,
        listener_count=5,
    )
    base.update(kw)
    return SpaceRecord(**base)


def test_upsert_is_idempotent(catalog: Catalog) -> None:
    with catalog.session() as s:
        first = upsert_space(s, record())
        record_sighting(s, first, "http://blog.test/post", "join us")
    with catalog.session() as s:
        again = upsert_space(s, record())
        record_sighting(s, again, "http://blog.test/post", "join us")
    with catalog.session() as s:
        spaces = s.scalars(select(Space)).unique().all()
        assert len(spaces) == 1
        assert spaces[0].version == 1
        assert spaces[0].host.handle == "ella"
        assert len(s.scalars(select(Sighting)).all()) == 1
        assert [(c.from_state, c.to_state) for c in s.scalars(select(StateChange))] == [
            ("unknown", "live")
        ]


def test_topics_are_kept_as_long_as_search_can_filter_by_them(catalog: Catalog) -> None:
    long = "t" * 60
    with catalog.session() as s:
        upsert_space(s, record(topics=[long, "jazz"]))
    with catalog.session() as s:
        again = upsert_space(s, record(topics=[long, "jazz"]))
        assert again.topics == ["t" * 40, "jazz"] and again.version == 1  # no change


def test_change_bumps_version_and_reports_commit(catalog: Catalog) -> None:
    seen: list[set[int]] = []
    catalog.on_commit(seen.append)
    with catalog.session() as s:
        space_id = upsert_space(s, record()).id
    with catalog.session() as s:
        space = upsert_space(s, record(title="Evening jazz"))
        assert space.version == 2
    assert seen == [{space_id}, {space_id}]


def test_commit_says_which_changes_must_show_at_once(catalog: Catalog) -> None:
    seen: list[set[int]] = []
    catalog.on_commit(seen.append)
    with catalog.session() as s:
        space_id = upsert_space(s, record(state=State.LIVE)).id
    with catalog.session() as s:
        record_observation(s, s.get(Space, space_id), Observation(state=State.ENDED))
    with catalog.session() as s:
        s.get(Space, space_id).featured = True
    with catalog.session() as s:
        s.get(Space, space_id).hidden = True
    with catalog.session() as s:
        s.delete(s.get(Space, space_id))
    # Found, then ended: routine. Featured, hidden, deleted: curators' changes, urgent.
    assert seen == [{space_id}] * 5
    urgent = [set(getattr(c, "urgent", ())) for c in seen]
    assert urgent == [set(), set(), {space_id}, {space_id}, {space_id}]


def test_provisional_title_never_replaces_real_one(catalog: Catalog) -> None:
    with catalog.session() as s:
        upsert_space(s, record())
    with catalog.session() as s:
        space = upsert_space(s, record(title="guess from a tweet", provisional=True))
        assert space.title == "Morning jazz"


def test_impossible_transition_is_refused_and_not_written(catalog: Catalog, caplog) -> None:
    with catalog.session() as s:
        space = upsert_space(s, record(state=State.ENDED))
        space_id = space.id
    with catalog.session() as s:
        space = s.get(Space, space_id)
        changed = record_observation(s, space, Observation(state=State.SCHEDULED))
        assert changed is False
    with catalog.session() as s:
        assert s.get(Space, space_id).state == "ended"
        assert s.scalar(select(StateChange).where(StateChange.to_state == "scheduled")) is None
    assert "cannot go from ended to scheduled" in caplog.text


def test_observation_schedules_next_check(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        space = upsert_space(s, record(), now=now)
        space_id = space.id
    assert due_space_ids_now(catalog, now) == [space_id]
    with catalog.session() as s:
        space = s.get(Space, space_id)
        record_observation(s, space, Observation(state=State.LIVE, listener_count=9), now=now)
        assert space.next_check_at == now + timedelta(seconds=30)
        assert space.last_verified_at == now
    assert due_space_ids_now(catalog, now) == []
    later = now + timedelta(seconds=31)
    assert due_space_ids_now(catalog, later) == [space_id]
    with catalog.session() as s:
        space = s.get(Space, space_id)
        assert record_observation(s, space, Observation(state=State.ENDED), now=later)
        assert space.ended_at == later
        assert space.next_check_at == later + timedelta(minutes=10)
        record_observation(s, space, Observation(state=State.ENDED), now=later)
        assert space.next_check_at is None


def test_failed_checks_back_off(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        space = upsert_space(s, record(), now=now)
        delays = []
        for _ in range(4):
            record_observation(s, space, Observation(state=None, error="timeout"), now=now)
            delays.append((space.next_check_at - now).total_seconds())
        assert delays == [30, 60, 120, 240]
        assert space.state == "live"
        assert space.check_failures == 4


def due_space_ids_now(catalog: Catalog, now) -> list[int]:
    with catalog.session() as s:
        return due_space_ids(s, now=now)


def test_new_space_without_host_takes_its_state(catalog: Catalog) -> None:
    with catalog.session() as s:
        space = upsert_space(s, record(host_handle="", host_name=""))
        assert space.state == "live"
        assert space.host is None
