"""Submissions record what their crawl found; rooms opened from the portal follow handles."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.catalog.db import Catalog
from core.catalog.hosting import attach_room_hosts, record_submission_outcome
from core.catalog.models import HostedRoom, Space, Submission, User
from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.timeutil import utcnow

ROOM = "http://rooms.test/s/r1"


def _user(catalog: Catalog, handle: str = "ann_lee", name: str = "Ann Lee") -> int:
    with catalog.session() as s:
        user = User(email=f"{handle}@example.org", password_hash="x", display_name=name)
        user.handle = handle
        s.add(user)
        s.flush()
        return user.id


def _submit(catalog: Catalog, user_id: int, url: str, *, ago: float = 0) -> int:
    with catalog.session() as s:
        row = Submission(user_id=user_id, url=url, created_at=utcnow() - timedelta(seconds=ago))
        s.add(row)
        s.flush()
        return row.id


def _submission(catalog: Catalog, submission_id: int) -> Submission:
    with catalog.sessions() as s:
        found = s.get(Submission, submission_id)
    assert found is not None
    return found


def _space(catalog: Catalog, url: str = ROOM, handle: str = "user-1") -> int:
    record = SpaceRecord(
        url=url, platform="rooms", title="Jazz", host_handle=handle, state=State.LIVE
    )
    with catalog.session() as s:
        space = upsert_space(s, record)
        s.flush()
        return space.id


def test_a_submission_starts_pending(catalog: Catalog) -> None:
    row = _submission(catalog, _submit(catalog, _user(catalog), ROOM))
    assert (row.outcome, row.found_urls, row.reason, row.crawled_at) == ("pending", [], "", None)


def test_found_nothing_and_failed_are_recorded(catalog: Catalog) -> None:
    uid = _user(catalog)
    found, nothing, failed = (
        _submit(catalog, uid, u) for u in (ROOM, "http://a.test/", "http://b.test/")
    )
    with catalog.session() as s:
        record_submission_outcome(s, ROOM, found=[ROOM, "http://rooms.test/s/r2", ROOM])
        record_submission_outcome(s, "http://a.test/", found=[])
        record_submission_outcome(s, "http://b.test/", found=[], reason="robots.txt forbids it")
    got = [_submission(catalog, i) for i in (found, nothing, failed)]
    assert [(r.outcome, r.found_urls, r.reason) for r in got] == [
        ("found", [ROOM, "http://rooms.test/s/r2"], ""),
        ("nothing", [], ""),
        ("failed", [], "robots.txt forbids it"),
    ]
    assert all(r.crawled_at is not None for r in got)


def test_only_submissions_made_before_the_crawl_are_settled(catalog: Catalog) -> None:
    uid = _user(catalog)
    before = _submit(catalog, uid, ROOM, ago=60)
    began = utcnow() - timedelta(seconds=30)
    after = _submit(catalog, uid, ROOM)
    with catalog.session() as s:
        record_submission_outcome(s, ROOM, found=[], since=began)
    assert _submission(catalog, before).outcome == "nothing"
    assert _submission(catalog, after).outcome == "pending"


def test_a_space_already_known_counts_as_found(catalog: Catalog) -> None:
    _space(catalog)
    sid = _submit(catalog, _user(catalog), ROOM)
    with catalog.session() as s:
        record_submission_outcome(s, ROOM, found=[], reason="")
    row = _submission(catalog, sid)
    assert (row.outcome, row.found_urls) == ("found", [ROOM])


def _open_room(catalog: Catalog, user_id: int) -> None:
    with catalog.session() as s:
        s.add(HostedRoom(user_id=user_id, room_id="r1", rooms_url="http://rooms.test",
                         share_url=ROOM, title="Jazz"))  # fmt: skip


def _host_of(catalog: Catalog, url: str = ROOM) -> tuple[str, str, str]:
    with catalog.sessions() as s:
        space = s.scalars(select(Space).where(Space.canonical_url == url)).unique().one()
        assert space.host is not None
        return space.host.handle, space.host.name, space.host.platform


def test_rooms_opened_from_the_portal_are_listed_under_the_chosen_handle(
    catalog: Catalog,
) -> None:
    uid = _user(catalog)
    _open_room(catalog, uid)
    _space(catalog, handle=f"user-{uid}")  # what a room server reported
    _space(catalog, url="http://rooms.test/s/other", handle="someone")
    with catalog.session() as s:
        assert attach_room_hosts(s, share_urls=[ROOM]) == 1
    assert _host_of(catalog) == ("ann_lee", "Ann Lee", "rooms:rooms.test")
    assert _host_of(catalog, "http://rooms.test/s/other")[0] == "someone"
    with catalog.session() as s:
        assert attach_room_hosts(s, share_urls=[ROOM]) == 0, "nothing left to change"

    # The host changes handle: their listings follow.
    with catalog.session() as s:
        user = s.get(User, uid)
        assert user is not None
        user.handle, user.display_name = "annie", "Annie"
    with catalog.session() as s:
        assert attach_room_hosts(s, user_id=uid) == 1
    assert _host_of(catalog) == ("annie", "Annie", "rooms:rooms.test")
