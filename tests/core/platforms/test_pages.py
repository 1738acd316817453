"""Space pages read by their platforms: room servers and event pages, realistic and malformed."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from core.catalog.states import State
from core.extract.pages import find_event, page_url
from core.extract.text import clean_text
from core.platforms.registry import read_page
from core.urls import canonical_url

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
PAGE = "https://rooms.example.org/s/r42"


def room_page(event: object, *, status: str = "/api/rooms/r42", extra: str = "") -> str:
    # Servers escape "</" inside JSON-LD so a title cannot close the script element.
    data = json.dumps(event).replace("</", "<\\/")
    script = f'<script type="application/ld+json">{data}</script>' if event else ""
    link = f'<link rel="alternate" type="application/json" href="{status}">' if status else ""
    return f"""<!doctype html><html lang="en"><head><title>Fallback title</title>
    <meta property="og:title" content="OG title"><meta property="og:description" content="OG d">
    {script}{link}{extra}</head><body><h1>Room</h1></body></html>"""


def broadcast(**fields: object) -> dict[str, object]:
    event = {
        "@context": "https://schema.org",
        "@type": "BroadcastEvent",
        "name": "Late night jazz",
        "description": "Standards and stories",
        "isLiveBroadcast": True,
        "startDate": "2026-11-23T11:30:00Z",
        "organizer": {"@type": "Person", "name": "Ann Lee", "alternateName": "@annlee",
                      "url": "https://rooms.example.org/hosts/annlee"},
        "keywords": "Jazz, music",
        "inLanguage": "en",
    }  # fmt: skip
    event.update(fields)
    return event


def test_live_room_server_page() -> None:
    record = read_page(room_page(broadcast()), PAGE + "?utm_source=x", now=NOW)
    assert record is not None
    assert record.url == PAGE
    assert record.platform == "rooms"
    assert record.state == State.LIVE
    assert record.title == "Late night jazz"
    assert record.description == "Standards and stories"
    assert (record.host_name, record.host_handle) == ("Ann Lee", "annlee")
    assert record.host_url == "https://rooms.example.org/hosts/annlee"
    assert record.status_url == "https://rooms.example.org/api/rooms/r42"
    assert record.player_url == PAGE + "/embed"
    assert record.started_at == datetime(2026, 11, 23, 11, 30, tzinfo=UTC)
    assert record.topics == ["jazz", "music"]
    assert record.lang == "en"
    assert not record.provisional


def test_scheduled_and_ended_states_come_from_the_dates() -> None:
    scheduled = read_page(
        room_page(broadcast(isLiveBroadcast=False, startDate="2026-11-24T18:00:00+01:00")),
        PAGE,
        now=NOW,
    )
    assert scheduled is not None and scheduled.state == State.SCHEDULED
    assert scheduled.scheduled_start == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    ended = read_page(room_page(broadcast(endDate="2026-11-23T11:50:00Z")), PAGE, now=NOW)
    assert ended is not None and ended.state == State.ENDED
    cancelled = broadcast(eventStatus="https://schema.org/EventCancelled", isLiveBroadcast=False)
    assert read_page(room_page(cancelled), PAGE, now=NOW).state == State.ENDED


@pytest.mark.parametrize(
    "wrap",
    [
        lambda e: [e],
        lambda e: {"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}, e]},
        lambda e: {**e, "@type": ["Event", "BroadcastEvent"]},
        lambda e: {**e, "@type": "Event", "organizer": [e["organizer"]]},
    ],
)
def test_json_ld_variants(wrap) -> None:
    record = read_page(room_page(wrap(broadcast())), PAGE, now=NOW)
    assert record is not None
    assert record.title == "Late night jazz"
    assert record.host_handle == "annlee"


def test_open_graph_only_room_page_uses_og_and_leaves_state_unknown() -> None:
    record = read_page(room_page(None), PAGE, now=NOW)
    assert record is not None
    assert (record.platform, record.title, record.description) == ("rooms", "OG title", "OG d")
    assert record.state is None
    assert record.player_url == PAGE + "/embed"


def test_broken_json_ld_falls_back_to_the_next_block_or_og() -> None:
    broken = '<script type="application/ld+json">{"@type": "BroadcastEvent", "name": </script>'
    page = room_page(None, extra=broken)
    assert find_event(page) is None
    assert read_page(page, PAGE, now=NOW).title == "OG title"
    good = f'<script type="application/ld+json">{json.dumps(broadcast())}</script>'
    assert read_page(room_page(None, extra=broken + good), PAGE, now=NOW).state == State.LIVE


def test_ordinary_pages_are_not_spaces() -> None:
    article = '<html><head><meta property="og:title" content="News"></head></html>'
    assert read_page(article, "https://news.example/a") is None
    assert read_page("", "https://news.example/a") is None
    assert read_page("<<<not html", "https://news.example/a") is None
    other_json = room_page(None, status="/api/v2/things/1")
    assert read_page(other_json, "https://news.example/a") is None


def test_event_without_status_link_is_a_web_space_without_player() -> None:
    record = read_page(room_page(broadcast(), status=""), "https://club.example/e/1", now=NOW)
    assert record is not None
    assert (record.platform, record.player_url, record.status_url) == ("web", "", "")


def test_markup_in_titles_is_stored_as_plain_text() -> None:
    event = broadcast(
        name='<script>alert(1)</script><img src=x onerror="alert(2)">Jazz &amp; <b>blues</b>',
        description="&lt;iframe src=javascript:alert(3)&gt;&lt;/iframe&gt;Hello\x00\x1b[31m\u202e",
        organizer={"name": "<a href='javascript:x'>Evil</a>\r\nHost", "alternateName": "evil"},
    )
    record = read_page(room_page(event), PAGE, now=NOW)
    assert record.title == "Jazz & blues"
    assert record.description == "Hello [31m"
    assert record.host_name == "Evil Host"
    for text in (record.title, record.description, record.host_name):
        assert "<" not in text and ">" not in text


def test_untrusted_text_is_length_limited() -> None:
    record = read_page(room_page(broadcast(name="x" * 5000, description="y" * 50_000)), PAGE)
    assert len(record.title) <= 200 and len(record.description) <= 1000
    assert clean_text("a" * 10, 5) == "aaaa\u2026"
    assert clean_text({"not": "text"}) == ""


def test_rel_canonical_is_honoured_on_the_same_site_only() -> None:
    same = room_page(broadcast(), extra='<link rel="canonical" href="/s/r42?ref_src=tw#top">')
    assert read_page(same, PAGE + "/?utm_medium=x", now=NOW).url == PAGE
    hijack = '<link rel="canonical" href="https://other.example/s/theirs">'
    assert page_url(room_page(broadcast(), extra=hijack), PAGE) == PAGE


def test_tracking_parameters_host_case_and_fragments_are_dropped() -> None:
    assert (
        canonical_url("HTTPS://Example.ORG:443/a/b?id=7&utm_source=n&fbclid=Z&gclid=1#frag")
        == "https://example.org/a/b?id=7"
    )
    assert canonical_url("/s/1?b=2", "http://h.example:8100/x") == "http://h.example:8100/s/1?b=2"
    assert canonical_url("javascript:alert(1)") == ""
    assert canonical_url("mailto:a@b") == ""
    assert canonical_url("http://[::1") == ""
