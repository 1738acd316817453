"""What the crawler and the liveness probes hand to the catalog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.catalog.states import State

#: The platform of a page that describes a space and says nothing more specific about
#: it; a record of it never replaces a more specific platform the catalog already knows.
GENERIC_PLATFORM = "web"
#: Longest topic kept (what crawlers read, and what the search filter takes).
TOPIC_MAX = 40


@dataclass
class SpaceRecord:
    """A space as read from the web: its canonical URL and whatever metadata was found.

    Fields left as None (or empty) were not found and leave the catalog's value alone.
    """

    url: str
    #: The name of the platform that read it (core.platforms): "rooms", "x", "web"...
    platform: str = GENERIC_PLATFORM
    title: str = ""
    description: str = ""
    state: State | None = None
    listener_count: int | None = None
    speaker_count: int | None = None
    started_at: datetime | None = None
    scheduled_start: datetime | None = None
    ended_at: datetime | None = None
    topics: list[str] = field(default_factory=list)
    lang: str = ""
    host_name: str = ""
    host_handle: str = ""
    host_url: str = ""
    status_url: str = ""
    player_url: str = ""
    #: Where `host_handle` names one person: a platform whose accounts are global gives
    #: its name ("x"); empty means per site (the platform and the space's host name).
    host_scope: str = ""
    provisional: bool = False  # title/host guessed from the sharing page, not the space


@dataclass
class Observation:
    """The result of one liveness check; state None means the check failed."""

    state: State | None
    listener_count: int | None = None
    speaker_count: int | None = None
    title: str | None = None
    started_at: datetime | None = None
    scheduled_start: datetime | None = None
    ended_at: datetime | None = None
    error: str = ""
    #: Why a failed check failed: a reason code (core.catalog.source_health.REASON_WORDS).
    reason: str = ""
    #: The HTTP status the check got, where it got one (0: none, or not over HTTP).
    status: int = 0
