from datetime import timedelta

import pytest
from sqlalchemy import select

from core.catalog.db import Catalog
from core.catalog.models import Source
from core.catalog.sources import (
    InvalidSource,
    add_source,
    defer_sources,
    due_sources,
    list_sources,
    pause_source,
    record_source_run,
    remove_source,
    resume_source,
)
from core.timeutil import utcnow


def test_add_source_is_idempotent_by_url(catalog: Catalog) -> None:
    with catalog.session() as s:
        first = add_source(s, "https://Blog.Example/spaces", interval_s=600)
    with catalog.session() as s:
        again = add_source(s, "https://blog.example/spaces", kind="feed", interval_s=600)
    assert again.id == first.id
    with catalog.session() as s:
        rows = s.scalars(select(Source)).all()
        assert [(r.url, r.kind, r.interval_s) for r in rows] == [
            ("https://blog.example/spaces", "feed", 600)
        ]


@pytest.mark.parametrize(
    "url", ["ftp://example.org/x", "javascript:alert(1)", "example.org", "", "http://"]
)
def test_add_source_refuses_non_web_urls(catalog: Catalog, url: str) -> None:
    with catalog.session() as s, pytest.raises(InvalidSource, match="http"):
        add_source(s, url)


def test_add_source_refuses_bad_settings(catalog: Catalog) -> None:
    with catalog.session() as s:
        with pytest.raises(InvalidSource, match="kind"):
            add_source(s, "http://a.test/", kind="carrier-pigeon")
        with pytest.raises(InvalidSource, match="interval"):
            add_source(s, "http://a.test/", interval_s=1)
        with pytest.raises(InvalidSource, match="depth"):
            add_source(s, "http://a.test/", depth=9)


def test_new_sources_are_due_at_once_and_not_after_a_run(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", interval_s=300, now=now)
        add_source(s, "http://b.test/", now=now + timedelta(minutes=5))
    with catalog.session() as s:
        assert [x.url for x in due_sources(s, now)] == ["http://a.test/"]
        record_source_run(
            s, source.id, pages=3, spaces=2, errors=1, duration_s=1.5, error="boom", now=now
        )
    with catalog.session() as s:
        assert due_sources(s, now) == []
        ran = s.get(Source, source.id)
        assert (ran.last_pages, ran.last_spaces, ran.last_errors) == (3, 2, 1)
        assert ran.last_duration_s == 1.5 and ran.last_error == "boom"
        assert ran.last_run_at == now
        assert ran.next_run_at == now + timedelta(seconds=300)
        assert [x.url for x in due_sources(s, now + timedelta(seconds=301))] == [
            "http://a.test/",
            "http://b.test/",
        ]


def test_deferred_sources_are_not_picked_twice(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", now=now)
        defer_sources(s, [source.id], now + timedelta(minutes=10))
    with catalog.session() as s:
        assert due_sources(s, now + timedelta(minutes=9)) == []


def test_paused_sources_are_skipped_and_resume_at_once(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", now=now)
        record_source_run(s, source.id, pages=1, spaces=0, errors=0, duration_s=0.1, now=now)
        pause_source(s, source.id)
    later = now + timedelta(hours=1)
    with catalog.session() as s:
        assert due_sources(s, later) == []
        assert resume_source(s, "http://A.test/", now=later) is not None
    with catalog.session() as s:
        assert [x.id for x in due_sources(s, later)] == [source.id]
        assert pause_source(s, 999) is None


def test_remove_source(catalog: Catalog) -> None:
    with catalog.session() as s:
        source = add_source(s, "http://a.test/")
    with catalog.session() as s:
        assert remove_source(s, source.id) is True
        assert remove_source(s, source.id) is False
        assert record_source_run(s, source.id, pages=0, spaces=0, errors=0, duration_s=0) is None


def test_sources_can_be_named_by_url(catalog: Catalog) -> None:
    with catalog.session() as s:
        a = add_source(s, "http://a.test/")
        add_source(s, "http://b.test/")
    with catalog.session() as s:
        assert pause_source(s, "http://a.test/").id == a.id
        assert pause_source(s, "not a url") is None
        assert [x.url for x in list_sources(s)] == ["http://a.test/", "http://b.test/"]
        assert remove_source(s, "http://a.test") is True
        assert [x.url for x in list_sources(s)] == ["http://b.test/"]
