"""Read the open-a-room form, and word the text hosts post to announce a room."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from core.catalog.models import HostedRoom
from portal.present import when_text

MAX_TITLE = 120


def room_fields(form: dict[str, str]) -> dict[str, Any]:
    """Return the room server's create-room body; raise ValueError saying what to fix."""
    title = " ".join(form.get("title", "").split())
    if not title:
        raise ValueError("Give the room a title.")
    if len(title) > MAX_TITLE:
        raise ValueError(f"Keep the title under {MAX_TITLE} characters.")
    topics = [t.lstrip("#").lower() for t in re.split(r"[,\s]+", form.get("topics", "")) if t]
    fields: dict[str, Any] = {
        "title": title,
        "description": form.get("description", "").strip(),
        "topics": list(dict.fromkeys(t for t in topics if t)),
        "lang": form.get("lang", "").strip(),
        "scheduled_start": None,
    }
    if form.get("when") == "later":
        raw = form.get("start", "").strip()
        try:
            # datetime-local sends no zone; the form says the time is UTC.
            start = datetime.fromisoformat(raw).replace(tzinfo=UTC)
        except ValueError:
            raise ValueError("Give the start as a date and time, like 2030-01-31 18:00.") from None
        if start <= datetime.now(UTC):
            raise ValueError("The start time has passed; pick a later one, or start now.")
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
