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
    recognise_kind,
    record_source_run,
    remove_source,
    resume_source,
    source_address,
    sources_by_trouble,
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


def _fail(s, source_id: int, at, reason: str = "http_5xx", **more) -> Source:
    return record_source_run(
        s,
        source_id,
        pages=0,
        spaces=0,
        errors=1,
        duration_s=0.1,
        error="HTTP 503",
        reason=reason,
        status=503,
        now=at,
        **more,
    )


def test_failing_source_backs_off_exponentially_up_to_six_hours(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", interval_s=300, now=now)
        waits = []
        for _ in range(8):
            ran = _fail(s, source.id, now)
            waits.append((ran.next_run_at - now).total_seconds())
        assert waits == [600, 1200, 2400, 4800, 9600, 19200, 21600, 21600]
        assert (ran.failures, ran.reason, ran.last_status) == (8, "http_5xx", 503)
        assert ran.last_ok_at is None and not ran.paused  # not yet broken for days


def test_backoff_honours_retry_after(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", interval_s=60, now=now)
        ran = _fail(s, source.id, now, reason="rate_limited", retry_after_s=3600)
        assert ran.next_run_at == now + timedelta(hours=1)


def test_success_resets_failures_and_keeps_cursor_and_validators(catalog: Catalog) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "https://m.test/tags/audio", kind="mastodon", now=now)
        for _ in range(3):
            _fail(s, source.id, now, reason="timeout")
        ran = record_source_run(
            s,
            source.id,
            pages=1,
            spaces=2,
            errors=0,
            duration_s=0.2,
            status=200,
            cursor="110",
            etag='"v1"',
            last_modified="Mon, 07 Dec 2026 10:00:00 GMT",
            now=now,
        )
        assert (ran.failures, ran.reason, ran.last_status) == (0, "", 200)
        assert ran.last_ok_at == now
        assert ran.next_run_at == now + timedelta(seconds=300)
        assert (ran.cursor, ran.etag, ran.last_modified) == (
            "110",
            '"v1"',
            "Mon, 07 Dec 2026 10:00:00 GMT",
        )
        # A run that says nothing of the cursor keeps the stored one.
        again = record_source_run(s, source.id, pages=1, spaces=0, errors=0, duration_s=0.1)
        assert again.cursor == "110"


def test_source_broken_for_days_is_paused_with_its_reason(catalog: Catalog) -> None:
    start = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", interval_s=300, now=start)
        record_source_run(s, source.id, pages=1, spaces=0, errors=0, duration_s=0.1, now=start)
        at = start
        for _ in range(4):
            at += timedelta(days=1)
            ran = _fail(s, source.id, at, reason="dns")
        assert not ran.paused  # broken for days, but only four failures
        ran = _fail(s, source.id, at + timedelta(hours=1), reason="dns")
        assert ran.paused
        assert ran.paused_reason == f"broken since {start:%Y-%m-%d %H:%M} UTC (dns)"
        assert due_sources(s, at + timedelta(days=30)) == []
    with catalog.session() as s:
        # Resumed by an admin: a fresh start, due at once.
        resumed = resume_source(s, source.id, now=at)
        assert (resumed.paused, resumed.paused_reason, resumed.failures) == (False, "", 0)


def test_many_quick_failures_do_not_pause_a_source_that_was_fine_lately(
    catalog: Catalog,
) -> None:
    now = utcnow()
    with catalog.session() as s:
        source = add_source(s, "http://a.test/", now=now - timedelta(days=10))
        record_source_run(s, source.id, pages=1, spaces=0, errors=0, duration_s=0.1, now=now)
        for minute in range(10):
            ran = _fail(s, source.id, now + timedelta(minutes=minute))
        assert not ran.paused and ran.failures == 10


def test_sources_by_trouble(catalog: Catalog) -> None:
    start = utcnow() - timedelta(days=5)
    with catalog.session() as s:
        healthy = add_source(s, "http://healthy.test/", now=start)
        failing = add_source(s, "http://failing.test/", now=start)
        broken = add_source(s, "http://broken.test/", now=start)
        worse = add_source(s, "http://worse.test/", now=start)
        manual = add_source(s, "http://manual.test/", now=start)
        record_source_run(s, healthy.id, pages=1, spaces=0, errors=0, duration_s=0.1)
        _fail(s, failing.id, utcnow())
        for _ in range(2):
            _fail(s, worse.id, utcnow(), reason="timeout")
        for _ in range(5):
            _fail(s, broken.id, utcnow(), reason="gone")
        pause_source(s, manual.id)
        assert broken.paused_reason
    with catalog.session() as s:
        order = [x.url for x in sources_by_trouble(s)]
    assert order == [
        "http://broken.test/",
        "http://worse.test/",
        "http://failing.test/",
        "http://healthy.test/",
        "http://manual.test/",
    ]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("wss://relay.test", "nostr"),
        ("https://mastodon.test/tags/spaces", "mastodon"),
        ("https://mastodon.test/@alice", "mastodon"),
        ("https://mastodon.test/@alice@other.test", "mastodon"),
        ("https://bsky.app/profile/alice.bsky.social", "bluesky"),
        ("https://api.test/xrpc/app.bsky.feed.searchPosts?q=audio", "bluesky"),
        ("https://api.x.com/2/spaces/search?query=audio", "xsearch"),
        ("https://blog.test/tags/spaces/page/2", "page"),
        ("https://blog.test/feed.xml", "page"),
        ("not a url", "page"),
    ],
)
def test_recognise_kind(url: str, kind: str) -> None:
    assert recognise_kind(url) == kind


def test_source_address_of_searches() -> None:
    assert (
        source_address("", "xsearch", "live audio", x_api_url="https://api.x.com")
        == "https://api.x.com/2/spaces/search?query=live+audio"
    )
    assert (
        source_address("https://public.api.bsky.app", "bluesky", "audio")
        == "https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts?q=audio"
    )
    profile = "https://bsky.app/profile/alice.test"
    assert source_address(profile, "bluesky", "") == profile


def test_xsearch_needs_a_query(catalog: Catalog) -> None:
    with catalog.session() as s, pytest.raises(InvalidSource, match="query"):
        add_source(s, "https://api.x.com/2/spaces/search", kind="xsearch")
