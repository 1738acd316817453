"""One space, many URLs: tracking parameters, other host names, a room's declared address."""

from __future__ import annotations

import pytest
from parsel import Selector

from core.catalog.states import State
from core.extract.pages import declared_urls, page_url
from core.platforms.registry import read_page
from core.platforms.rooms import RoomServer, room_address
from core.urls import canonical_url, same_page
from tests.core.platforms.test_pages import NOW, broadcast, room_page

ROOM = "http://127.0.0.1:8100/s/r42"


def claims(address: str, *, og: str | None = None, ld: str | None = None) -> str:
    """Return a room page (room r42) declaring `address` the way our room server does."""
    extra = f'<link rel="canonical" href="{address}">'
    extra += f'<meta property="og:url" content="{og if og is not None else address}">'
    return room_page(broadcast(url=ld if ld is not None else address), extra=extra)


@pytest.mark.parametrize(
    ("link", "canonical"),
    [
        ("https://a.example/p?id=7&utm_source=n&utm_campaign=c", "https://a.example/p?id=7"),
        ("https://a.example/p?fbclid=Z&gclid=1&msclkid=2&igshid=3", "https://a.example/p"),
        ("https://a.example/p?ref=hn&si=abc&mc_eid=9&v=2", "https://a.example/p?v=2"),
        # `s` and `t` only track on X; elsewhere they pick the content.
        ("https://blog.example/?s=jazz", "https://blog.example/?s=jazz"),
        ("https://video.example/watch?v=1&t=42", "https://video.example/watch?v=1&t=42"),
        ("https://x.com/annlee/status/123?s=20&t=AbCd", "https://x.com/annlee/status/123"),
        # X's other host names serve the same pages.
        ("https://mobile.twitter.com/annlee/status/123?s=46", "https://x.com/annlee/status/123"),
        ("https://www.x.com/annlee", "https://x.com/annlee"),
        ("https://m.twitter.com/annlee/status/1#reply", "https://x.com/annlee/status/1"),
    ],
)
def test_tracking_and_other_spellings_share_one_canonical_url(link: str, canonical: str) -> None:
    assert canonical_url(link) == canonical


def test_look_alike_hosts_keep_their_own_name() -> None:
    assert (
        canonical_url("https://twitter.com.evil.example/a") == "https://twitter.com.evil.example/a"
    )
    assert canonical_url("https://notx.com/a?s=1") == "https://notx.com/a?s=1"


def test_og_url_counts_as_a_canonical_on_the_same_site_only() -> None:
    same = room_page(broadcast(), extra='<meta property="og:url" content="/s/r42?utm_source=o">')
    assert page_url(same, "https://rooms.example.org/s/r42/") == "https://rooms.example.org/s/r42"
    other = room_page(broadcast(), extra='<meta property="og:url" content="https://o.example/s">')
    assert page_url(other, "https://rooms.example.org/s/r42") == "https://rooms.example.org/s/r42"


def test_declared_urls_come_strongest_first_without_repeats() -> None:
    page = claims(ROOM + "?utm_source=x", ld="http://127.0.0.1:8100/s/r42#top")
    assert declared_urls(page, "http://localhost:8100/s/r42") == [ROOM]
    event = broadcast(url="/s/other")
    found = declared_urls(claims(ROOM, og=""), "http://localhost:8100/s/r42", event)
    assert found == [ROOM, "http://localhost:8100/s/other"]


def test_another_loopback_name_of_the_room_server_is_the_same_room() -> None:
    for alias in ("http://localhost:8100/s/r42", "http://127.0.0.2:8100/s/r42?utm_medium=x"):
        record = read_page(claims(ROOM), alias, now=NOW)
        assert record is not None and record.url == ROOM
        assert not record.provisional and record.state == State.LIVE
        assert record.status_url == "http://127.0.0.1:8100/api/rooms/r42"
        assert record.player_url == ROOM + "/embed"


def test_a_public_alias_is_word_of_the_room_not_its_authority() -> None:
    room = "https://rooms.example.org/s/r42"
    record = read_page(claims(room), "https://mirror.example.net/s/r42", now=NOW)
    assert record is not None and record.url == room
    # Anyone can serve such a page: it may point at the room but not say how it is.
    assert record.provisional and record.state is None and record.started_at is None
    assert record.title == "Late night jazz"
    # The room's own server, not the alias's, answers the liveness checks.
    assert record.status_url == "https://rooms.example.org/api/rooms/r42"


@pytest.mark.parametrize(
    ("page", "why"),
    [
        (claims(ROOM, og="http://127.0.0.1:8100/s/r43"), "declarations disagree"),
        (claims("http://127.0.0.1:8100/s/theirs"), "another room's address"),
        (claims("http://127.0.0.1:8101/s/r42"), "another port"),
        (claims("https://127.0.0.1:8100/s/r42"), "another scheme"),
    ],
)
def test_loopback_claims_that_do_not_hold_leave_the_page_its_own_url(page: str, why: str) -> None:
    record = read_page(page, "http://localhost:8100/s/r42", now=NOW)
    assert record is not None and record.url == "http://localhost:8100/s/r42", why
    assert record.status_url == "http://localhost:8100/api/rooms/r42"


@pytest.mark.parametrize(
    "claimed",
    ["http://localhost:8100/s/r42", "http://10.0.0.5/s/r42", "http://[::1]:8100/s/r42"],
)
def test_a_public_page_cannot_name_a_private_address_as_its_own(claimed: str) -> None:
    page = claims(claimed)
    assert room_address(Selector(text=page), "https://pub.example/s/r42", "r42", None) == (
        "https://pub.example/s/r42",
        True,
    )
    record = read_page(page, "https://pub.example/s/r42", now=NOW)
    assert record is not None and record.url == "https://pub.example/s/r42"


def test_a_check_reads_the_room_page_fetched_whatever_address_it_declares() -> None:
    page = claims("https://rooms.example.org/s/r42")
    seen = RoomServer().observe_page(page, "https://mirror.example.net/s/r42")
    assert seen.state == State.LIVE and seen.title == "Late night jazz"


def test_one_page_by_two_names_of_this_machine() -> None:
    assert same_page("http://localhost:8100/s/r42#x", "http://127.0.0.1:8100/s/r42?utm_source=a")
    assert same_page("http://[::1]:8100/s/r42", "http://app.localhost:8100/s/r42")
    assert not same_page("http://localhost:8100/s/r42", "http://127.0.0.1:8101/s/r42")
    assert not same_page("http://localhost:8100/s/r42", "https://localhost:8100/s/r42")
    assert not same_page("http://10.0.0.1:8100/s/r42", "http://127.0.0.1:8100/s/r42")
    assert not same_page("https://a.example/s/r42", "https://b.example/s/r42")
    assert not same_page("http://localhost:8100/s/r42", "http://127.0.0.1:8100/s/r43")
    assert not same_page("", "http://127.0.0.1:8100/s/r42")
