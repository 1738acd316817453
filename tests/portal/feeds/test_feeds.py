"""Atom feeds and host calendars: valid, escaped, and free of hidden spaces."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree as ET

import icalendar

from core.catalog.states import State

A = "{http://www.w3.org/2005/Atom}"
NASTY = 'Tea & <script>alert("x")</script> \x01talk'


def _entries(response) -> list[ET.Element]:
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{A}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{A}{required}") is not None
    return feed.findall(f"{A}entry")


def test_live_feed_lists_live_spaces_escaped_and_skips_hidden(client, make_space, now) -> None:
    shown = make_space(title=NASTY, topics=["tea"], checked=now, listener_count=7)
    make_space(title="Secret", checked=now, hidden=True)
    make_space(title="Over", state=State.ENDED, checked=now)
    entries = _entries(client.get("/feeds/live.atom"))
    assert len(entries) == 1
    entry = entries[0]
    assert entry.findtext(f"{A}id") == f"http://portal.test/spaces/{shown}"
    # The parser gives back the text exactly, so it was escaped, not dropped.
    assert entry.findtext(f"{A}title") == '[LIVE] Tea & <script>alert("x")</script> talk'
    assert entry.find(f"{A}category").get("term") == "tea"
    assert b"<script>" not in client.get("/feeds/live.atom").data


def test_topic_feed_uses_the_index(client, make_space, now) -> None:
    make_space(title="Rust chat", topics=["rust"], checked=now)
    make_space(title="Go chat", topics=["go"], checked=now)
    make_space(title="Hidden rust", topics=["rust"], checked=now, hidden=True)
    titles = [e.findtext(f"{A}title") for e in _entries(client.get("/feeds/topics/rust.atom"))]
    assert titles == ["[LIVE] Rust chat"]
    assert _entries(client.get("/feeds/topics/nothing-here.atom")) == []
    assert client.get("/feeds/topics/" + "x" * 300 + ".atom").status_code == 400


def test_host_feed(client, make_space, now) -> None:
    make_space(title="One", host_handle="ann", host_name="Ann", checked=now)
    make_space(title="Two", host_handle="ann", host_name="Ann", state=State.ENDED)
    make_space(title="Other", host_handle="bob")
    titles = {e.findtext(f"{A}title") for e in _entries(client.get("/feeds/hosts/ann.atom"))}
    assert titles == {"[LIVE] One", "[Ended] Two"}
    assert client.get("/feeds/hosts/nobody.atom").status_code == 404


def test_host_calendar_has_scheduled_spaces_as_events(client, make_space, now) -> None:
    start = (now + timedelta(days=2)).replace(microsecond=0)
    soon = make_space(
        title="Q&A; with, commas",
        description="Line one\nLine two",
        state=State.SCHEDULED,
        scheduled_start=start,
        host_handle="cal",
        topics=["news"],
    )
    make_space(title="Running", host_handle="cal", checked=now)
    make_space(
        title="Gone", host_handle="cal", hidden=True, state=State.SCHEDULED, scheduled_start=start
    )
    response = client.get("/calendar/hosts/cal.ics")
    assert response.status_code == 200 and response.mimetype == "text/calendar"
    assert all(len(line) <= 75 for line in response.data.split(b"\r\n"))
    calendar = icalendar.Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert str(event["summary"]) == "Q&A; with, commas"
    assert event.decoded("dtstart") == start
    assert str(event["url"]) == f"http://portal.test/spaces/{soon}"
    assert "Line one\nLine two" in str(event["description"])
    assert client.get("/calendar/hosts/nobody.ics").status_code == 404
