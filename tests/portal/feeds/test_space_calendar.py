""" "Add to calendar": one space as an iCalendar event, linked from its page."""

from __future__ import annotations

from datetime import timedelta

import icalendar
from parsel import Selector

from core.catalog.states import State


def test_a_scheduled_space_is_one_event_at_its_start(client, make_space, now) -> None:
    start = (now + timedelta(days=3)).replace(microsecond=0)
    space_id = make_space(
        title="Budget Q&A; commas, and\nnew lines",
        description="Bring questions",
        state=State.SCHEDULED,
        scheduled_start=start,
        topics=["money"],
    )
    response = client.get(f"/calendar/spaces/{space_id}.ics")
    assert response.status_code == 200
    assert response.mimetype == "text/calendar"
    assert f'filename="space-{space_id}.ics"' in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "public, max-age=60"
    calendar = icalendar.Calendar.from_ical(response.data)
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    assert event.decoded("dtstart") == start
    assert event.decoded("dtend") == start + timedelta(hours=1)
    assert str(event["url"]) == f"http://portal.test/spaces/{space_id}"
    # The library escaped the separators, and parsing gives the title back whole.
    assert str(event["summary"]) == "Budget Q&A; commas, and\nnew lines"
    assert b"Q&A\\; commas\\, and\\nnew lines" in response.data.replace(b"\r\n ", b"")
    # The same UID as in the host's calendar, so calendar apps see one event, not two.
    uid = str(event["uid"])
    assert uid == f"space-{space_id}@portal.test"
    host_handle = (
        Selector(client.get(f"/spaces/{space_id}").text).css(".space-host a::attr(href)").get()
    )
    host_calendar = client.get(f"/calendar{host_handle}.ics")
    host_events = list(icalendar.Calendar.from_ical(host_calendar.data).walk("VEVENT"))
    assert [str(e["uid"]) for e in host_events] == [uid]


def test_scheduled_space_page_links_to_its_event(client, make_space, now) -> None:
    start = now + timedelta(hours=5)
    scheduled = make_space(title="Soon", state=State.SCHEDULED, scheduled_start=start)
    live = make_space(title="On now", checked=now)
    page = Selector(client.get(f"/spaces/{scheduled}").text)
    link = page.xpath("//a[normalize-space()='Add to calendar']")
    assert link.attrib["href"] == f"/calendar/spaces/{scheduled}.ics"
    assert client.get(link.attrib["href"]).status_code == 200
    # Only scheduled spaces offer it: a live one is to listen to now.
    live_page = Selector(client.get(f"/spaces/{live}").text)
    assert not live_page.xpath("//a[normalize-space()='Add to calendar']")


def test_spaces_without_a_start_or_hidden_have_no_event(client, make_space, now) -> None:
    undated = make_space(title="Some day", state=State.SCHEDULED)
    hidden = make_space(
        title="Secret", state=State.SCHEDULED, scheduled_start=now + timedelta(days=1), hidden=True
    )
    response = client.get(f"/calendar/spaces/{undated}.ics")
    assert response.status_code == 404
    assert "no start time yet" in response.text
    assert client.get(f"/calendar/spaces/{hidden}.ics").status_code == 404
    assert client.get("/calendar/spaces/999999.ics").status_code == 404
    assert not Selector(client.get(f"/spaces/{undated}").text).xpath(
        "//a[normalize-space()='Add to calendar']"
    )
