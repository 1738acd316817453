"""Build iCalendar (RFC 5545) calendars of scheduled spaces."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from core.catalog.models import Space
from core.config import Config
from portal.feeds.atom import xml_text
from portal.present import space_page_url

#: Spaces rarely say how long they last; calendars need an end, so assume an hour.
DEFAULT_LENGTH = timedelta(hours=1)


def event_start(space: Space) -> datetime | None:
    """Return when a space starts (or started): the time a calendar event opens at."""
    return space.scheduled_start or space.started_at


def _calendar(product: str, name: str) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", f"-//Spaces//{product}//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # X-WR-CALNAME is not escaped like TEXT properties; a line break would end the line.
    calendar.add("x-wr-calname", " ".join(xml_text(name).split()))
    return calendar


def _event(space: Space, config: Config, now: datetime) -> Event | None:
    """Return the VEVENT of one space, the same in every calendar it appears in."""
    start = event_start(space)
    if start is None:
        return None
    domain = urlsplit(config.portal_url).hostname or "spaces"
    page = space_page_url(config, space.id)
    event = Event()
    # A stable UID lets calendar apps update the event when the space moves.
    event.add("uid", f"space-{space.id}@{domain}")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    end = space.ended_at if space.ended_at and space.ended_at > start else None
    event.add("dtend", end or start + DEFAULT_LENGTH)
    event.add("last-modified", space.updated_at or now)
    event.add("summary", xml_text(space.title or "Untitled space"))
    description = xml_text(space.description)
    event.add("description", f"{description}\n\n{page}".strip())
    event.add("url", page)
    event.add("location", page)
    if space.topics:
        event.add("categories", [xml_text(str(t)) for t in space.topics])
    return event


def _encoded(calendar: Calendar) -> bytes:
    # icalendar leaves to_ical unannotated; it returns the encoded calendar.
    document: bytes = calendar.to_ical()
    return document


def host_calendar(spaces: Sequence[Space], *, config: Config, name: str, now: datetime) -> bytes:
    """Return a calendar with one VEVENT per scheduled space (the library escapes and folds)."""
    calendar = _calendar("Host calendar", f"Spaces with {name}")
    for space in spaces:
        if space.scheduled_start is None:
            continue
        event = _event(space, config, now)
        if event is not None:
            calendar.add_component(event)
    return _encoded(calendar)


def space_calendar(space: Space, *, config: Config, now: datetime) -> bytes | None:
    """Return a calendar holding just this space's event; None if it has no start time."""
    event = _event(space, config, now)
    if event is None:
        return None
    calendar = _calendar("Space", space.title or "Untitled space")
    # PUBLISH: a copy to keep, not an invitation to answer.
    calendar.add("method", "PUBLISH")
    calendar.add_component(event)
    return _encoded(calendar)
