"""Read the open-a-room form, and word the text hosts post to announce a room."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.catalog.models import HostedRoom
from portal.hosting.languages import check_language
from portal.present import when_text

MAX_TITLE = 120
MAX_DESCRIPTION = 2000


class RoomFormError(ValueError):
    """A field of the open-a-room form that cannot be used; `field` names it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def zone_of(name: str) -> ZoneInfo:
    """Return the IANA time zone called `name` (UTC when the browser sent none)."""
    if not name:
        return ZoneInfo("UTC")
    if len(name) > 64 or not re.fullmatch(r"[A-Za-z0-9_+\-/]+", name) or ".." in name:
        raise RoomFormError(f"Unknown time zone {name[:64]!r}; pick the time in UTC.", "start")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoomFormError(f"Unknown time zone {name!r}; pick the time in UTC.", "start") from None


def scheduled_start(raw: str, zone_name: str, now: datetime | None = None) -> datetime:
    """Return the start a host typed in their zone as UTC; raise RoomFormError if unusable."""
    zone = zone_of(zone_name.strip())
    try:
        local = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise RoomFormError(
            "Give the start as a date and time, like 2030-01-31 18:00.", "start"
        ) from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone)
    start = local.astimezone(UTC)
    if start <= (now or datetime.now(UTC)):
        raise RoomFormError("The start time has passed; pick a later one, or start now.", "start")
    return start


def room_fields(form: dict[str, str]) -> dict[str, Any]:
    """Return the room server's create-room body; raise RoomFormError saying what to fix."""
    title = " ".join(form.get("title", "").split())
    if not title:
        raise RoomFormError("Give the room a title.", "title")
    if len(title) > MAX_TITLE:
        raise RoomFormError(f"Keep the title under {MAX_TITLE} characters.", "title")
    description = form.get("description", "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise RoomFormError(
            f"Keep the description under {MAX_DESCRIPTION} characters.", "description"
        )
    topics = [t.lstrip("#").lower() for t in re.split(r"[,\s]+", form.get("topics", "")) if t]
    lang = form.get("lang", "").strip()
    if lang:
        try:
            lang = check_language(lang)
        except ValueError as error:
            raise RoomFormError(str(error), "lang") from None
    fields: dict[str, Any] = {
        "title": title,
        "description": description,
        "topics": list(dict.fromkeys(t for t in topics if t)),
        "lang": lang,
        "scheduled_start": None,
    }
    if form.get("when") == "later":
        start = scheduled_start(form.get("start", ""), form.get("tz", ""))
        fields["scheduled_start"] = start.isoformat().replace("+00:00", "Z")
    return fields


def share_text(room: HostedRoom) -> str:
    """Return ready-to-post text announcing the room, ending with its link."""
    if room.scheduled_start is not None:
        return (
            f"\u201c{room.title}\u201d starts {when_text(room.scheduled_start)}. "
            f"Join me: {room.share_url}"
        )
    return f"I\u2019m live now: \u201c{room.title}\u201d. Listen in: {room.share_url}"
