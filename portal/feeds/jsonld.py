"""Describe a space page in schema.org JSON-LD, as a `BroadcastEvent`."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from core.catalog.models import Space
from core.catalog.states import State
from core.config import Config
from core.timeutil import isoformat
from portal.present import host_json, http_url, space_page_url

SCHEDULED = "https://schema.org/EventScheduled"
CANCELLED = "https://schema.org/EventCancelled"

# Inside <script> only "</" and "<!--" can end or upset the block; escaping every <, >
# and & (as JSON allows) covers those and anything a later parser may trip over.
_SCRIPT_SAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def broadcast_event(space: Space, config: Config) -> dict[str, Any]:
    """Return the space as a schema.org BroadcastEvent, leaving out what is not known."""
    page = space_page_url(config, space.id)
    host = host_json(space, config)
    # A space that vanished before it ever started did not happen; anything else did or will.
    cancelled = space.state == State.GONE and space.started_at is None
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BroadcastEvent",
        "name": space.title or "Untitled space",
        "description": space.description or None,
        "url": page,
        "startDate": isoformat(space.started_at or space.scheduled_start),
        "endDate": isoformat(space.ended_at),
        # A space is always a live broadcast, whether or not it is on right now.
        "isLiveBroadcast": True,
        "eventStatus": CANCELLED if cancelled else SCHEDULED,
        "eventAttendanceMode": "https://schema.org/OnlineEventAttendanceMode",
        "inLanguage": space.lang or None,
        "keywords": ",".join(str(t) for t in space.topics or []) or None,
        "location": {"@type": "VirtualLocation", "url": page},
    }
    original = http_url(space.url)
    if original and original != page:
        data["sameAs"] = original
    if host["name"]:
        data["organizer"] = {"@type": "Person", "name": host["name"], "url": host["url"]}
    return {key: value for key, value in data.items() if value is not None}


def script_json(data: dict[str, Any]) -> Markup:
    """Return `data` as JSON that is safe as the content of a <script> element."""
    return Markup(json.dumps(data, ensure_ascii=False).translate(_SCRIPT_SAFE))  # noqa: S704
