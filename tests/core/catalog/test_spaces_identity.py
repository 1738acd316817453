"""One space, many URLs, in the catalog: lookups, sightings, and guesses that never overwrite."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.catalog.db import Catalog
from core.catalog.models import Sighting, Space
from core.catalog.records import SpaceRecord
from core.catalog.spaces import get_space_by_url, record_sighting, upsert_space
from core.catalog.states import State
from core.timeutil import utcnow

ROOM = "http://rooms.test/s/abc"


def room(**fields: object) -> SpaceRecord:
    record = SpaceRecord(
        url=ROOM,
        platform="rooms",
        title="Morning jazz",
        description="Standards",
        topics=["jazz"],
        host_handle="ella",
        host_name="Ella",
        state=State.LIVE,
    )
    for name, value in fields.items():
        setattr(record, name, value)
    return record


def test_a_space_is_found_by_any_spelling_of_its_url(catalog: Catalog) -> None:
    with catalog.session() as s:
        upsert_space(s, room())
    with catalog.session() as s:
        space = get_space_by_url(s, ROOM)
        assert space is not None
        assert get_space_by_url(s, ROOM + "?utm_source=feed&fbclid=1#top") is space
        assert get_space_by_url(s, "http://rooms.test/s/other") is None
        # Upserting a tracking-param variant updates the one space, not a second.
        upsert_space(s, room(url=ROOM + "?utm_medium=x", title="Evening jazz"))
    with catalog.session() as s:
        assert [sp.title for sp in s.scalars(select(Space)).unique()] == ["Evening jazz"]


def test_one_sharing_page_in_many_spellings_is_one_sighting(catalog: Catalog) -> None:
    first = utcnow() - timedelta(days=3)
    with catalog.session() as s:
        space = upsert_space(s, room())
        record_sighting(s, space, "https://blog.test/post?utm_source=rss", "join", now=first)
    with catalog.session() as s:
        known = get_space_by_url(s, ROOM)
        assert known is not None
        record_sighting(s, known, "https://blog.test/post#comments", "join us")
        record_sighting(s, known, "https://other.test/", "here")
    with catalog.session() as s:
        rows = {row.page_url: row for row in s.scalars(select(Sighting))}
        assert set(rows) == {"https://blog.test/post", "https://other.test/"}
        # Seen again, the share keeps the time it was first seen.
        again = rows["https://blog.test/post"]
        assert again.first_seen == first and again.last_seen > first


def test_word_of_a_space_never_replaces_what_its_own_page_said(catalog: Catalog) -> None:
    hearsay = room(
        title="FREE CRYPTO",
        description="spam",
        topics=["crypto"],
        host_handle="mallory",
        host_name="Mallory",
        state=None,
        provisional=True,
    )
    with catalog.session() as s:
        upsert_space(s, room())
        upsert_space(s, hearsay)
    with catalog.session() as s:
        space = get_space_by_url(s, ROOM)
        assert space is not None
        assert (space.title, space.description, space.topics) == (
            "Morning jazz",
            "Standards",
            ["jazz"],
        )
        assert space.host is not None and space.host.handle == "ella"
        assert space.state == State.LIVE


def test_word_of_a_space_fills_what_is_not_known_yet(catalog: Catalog) -> None:
    with catalog.session() as s:
        upsert_space(s, room(state=None, provisional=True))
    with catalog.session() as s:
        space = get_space_by_url(s, ROOM)
        assert space is not None and space.title == "Morning jazz"
        assert space.topics == ["jazz"] and space.host is not None
        assert space.state == State.UNKNOWN
        # The space's own page, read later, says what it really is.
        upsert_space(s, room(title="Jazz at dawn", topics=["jazz", "dawn"], host_handle="ann"))
    with catalog.session() as s:
        space = get_space_by_url(s, ROOM)
        assert space is not None and space.title == "Jazz at dawn"
        assert sorted(space.topics) == ["dawn", "jazz"]
        assert space.host is not None and space.host.handle == "ann"


def test_a_room_page_read_by_another_loopback_name_is_not_its_own_sighting(
    catalog: Catalog,
) -> None:
    own = "http://127.0.0.1:8100/s/r42"
    with catalog.session() as s:
        space = upsert_space(s, room(url=own))
        assert record_sighting(s, space, "http://localhost:8100/s/r42#transcript") is None
        assert record_sighting(s, space, own + "?utm_source=x") is None
        assert record_sighting(s, space, "http://localhost:8100/") is not None
        # Another port is another server: a page there did share the room.
        assert record_sighting(s, space, "http://localhost:8101/s/r42") is not None
    with catalog.session() as s:
        pages = sorted(row.page_url for row in s.scalars(select(Sighting)))
        assert pages == ["http://localhost:8100/", "http://localhost:8101/s/r42"]
