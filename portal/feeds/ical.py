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


def host_calendar(spaces: Sequence[Space], *, config: Config, name: str, now: datetime) -> bytes:
    """Return a calendar with one VEVENT per scheduled space (the library escapes and folds)."""
    domain = urlsplit(config.portal_url).hostname or "spaces"
    calendar = Calendar()
    calendar.add("prodid", "-//Spaces//Host calendar//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", xml_text(f"Spaces with {name}"))
    for space in spaces:
        if space.scheduled_start is None:
            continue
        page = space_page_url(config, space.id)
        event = Event()
        # A stable UID lets calendar apps update the event when the space moves.
        event.add("uid", f"space-{space.id}@{domain}")
        event.add("dtstamp", now)
        event.add("dtstart", space.scheduled_start)
        event.add("dtend", space.scheduled_start + DEFAULT_LENGTH)
        event.add("last-modified", space.updated_at or now)
        event.add("summary", xml_text(space.title or "Untitled space"))
        description = xml_text(space.description)
        event.add("description", f"{description}\n\n{page}".strip())
        event.add("url", page)
        event.add("location", page)
        if space.topics:
            event.add("categories", [xml_text(str(t)) for t in space.topics])
        calendar.add_component(event)
    # icalendar leaves to_ical unannotated; it returns the encoded calendar.
    document: bytes = calendar.to_ical()
    return document
