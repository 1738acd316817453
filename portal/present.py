"""Turn catalog objects into what the API returns and the pages show."""

from __future__ import annotations

import functools
import html
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

from markupsafe import Markup, escape

from core.catalog.freshness import STALE_AFTER_INTERVALS, unreachable
from core.catalog.models import Space
from core.catalog.source_health import reason_words
from core.catalog.states import State
from core.config import Config
from core.platforms import registry
from core.timeutil import isoformat
from portal.queries import is_live_now
from portal.security import origin_of

SPACE_FIELDS = (
    "id",
    "url",
    "title",
    "description",
    "host",
    "state",
    "listener_count",
    "speaker_count",
    "started_at",
    "scheduled_start",
    "ended_at",
    "topics",
    "lang",
    "source",
    "shares",
    "last_checked_at",
    "player_url",
    "featured",
    "health",
)


@functools.lru_cache(maxsize=8192)
def http_url(value: str | None) -> str:
    """Return `value` if it is an absolute http(s) URL, else "".

    Crawled links end up in href and src attributes; escaping does not stop a
    `javascript:` URL, so only web URLs are ever let through. Results are remembered:
    every result page checks the same few thousand popular URLs again and again.
    """
    if not value:
        return ""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return value.strip()


def space_page_url(config: Config, space_id: int) -> str:
    """Return the portal's public address of a space page."""
    return f"{config.portal_url}/spaces/{space_id}"


def host_page_url(config: Config, handle: str) -> str:
    """Return the portal's public address of a host page."""
    return f"{config.portal_url}/hosts/{quote(handle, safe='')}"


def host_json(space: Space, config: Config) -> dict[str, str]:
    """Return a space's host as {name, handle, url}; empty strings when unknown."""
    host = space.host
    if host is None:
        return {"name": "", "handle": "", "url": ""}
    url = http_url(host.url) or host_page_url(config, host.handle)
    return {"name": host.name or host.handle, "handle": host.handle, "url": url}


def space_json(space: Space, config: Config, shares: int = 0) -> dict[str, Any]:
    """Return the API form of a space, with exactly the documented fields."""
    return {
        "id": space.id,
        "url": http_url(space.url),
        "title": space.title or "",
        "description": space.description or "",
        "host": host_json(space, config),
        "state": str(space.state),
        "listener_count": int(space.listener_count or 0),
        "speaker_count": int(space.speaker_count or 0),
        "started_at": isoformat(space.started_at),
        "scheduled_start": isoformat(space.scheduled_start),
        "ended_at": isoformat(space.ended_at),
        "topics": [str(t) for t in (space.topics or [])],
        "lang": space.lang or "",
        "source": space.platform or "",
        "shares": int(shares),
        # The last check that reached the space's source: a failed one says nothing new.
        "last_checked_at": isoformat(space.last_verified_at),
        "player_url": http_url(space.player_url),
        "featured": bool(space.featured),
        "health": health_json(space),
    }


def health_json(space: Space) -> dict[str, Any]:
    """Return how a space's liveness checks have gone: last good one, status, failures, why."""
    return {
        "last_ok_at": isoformat(space.last_ok_at),
        "last_status": int(space.last_status or 0),
        "failures": int(space.check_failures or 0),
        "reason": space.check_reason or "",
        "last_checked_at": isoformat(space.last_checked_at),
        "reachable": not unreachable(space),
    }


#: What each platform's source is called where a check cannot reach it.
_SOURCES = {"rooms": "the room server", "x": "X"}


def reach_source(space: Space) -> str:
    """Return what a check of `space` reaches: "the room server", "X", "the space's site"."""
    return _SOURCES.get(space.platform or "", "the space's site")


def reach_note(space: Space) -> str:
    """Say why the last check could not reach the space's source, or "" when it did.

    "Can't reach the room server (no answer in time)": the state shown is then the last
    one known, and the page says so instead of a fresh "checked 12 s ago".
    """
    if not unreachable(space):
        return ""
    return f"Can't reach {reach_source(space)} ({reason_words(space.check_reason)})"


def ago(value: datetime | None, now: datetime) -> str:
    """Say how long ago (or how far ahead) `value` is, in a few characters: "12 s ago"."""
    if value is None:
        return "never"
    seconds = int((now - value).total_seconds())
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 5:
        return "just now"
    if seconds < 60:
        amount = f"{seconds} s"
    elif seconds < 3600:
        amount = f"{seconds // 60} min"
    elif seconds < 86400:
        amount = f"{seconds // 3600} h"
    else:
        amount = f"{seconds // 86400} d"
    return f"in {amount}" if future else f"{amount} ago"


def when_text(value: datetime | None) -> str:
    """Format a time for people, in UTC (the page's script shows it in local time)."""
    if value is None:
        return ""
    return value.strftime("%a %d %b, %H:%M UTC")


def badge(space: Space, now: datetime, interval_s: float) -> tuple[str, str, str]:
    """Return (label, css modifier, explanation) for a space's state badge."""
    state = str(space.state)
    if state == State.LIVE:
        note = reach_note(space)
        if note and is_live_now(space, now, interval_s):
            return "Live?", "stale", f"Reported live, but the last check failed: {note}"
        if is_live_now(space, now, interval_s):
            return "LIVE", "live", "Live now, confirmed recently"
        minutes = max(1, round(STALE_AFTER_INTERVALS * interval_s / 60))
        return "Live?", "stale", f"Reported live, but not confirmed in the last {minutes} min"
    labels: dict[str, tuple[str, str, str]] = {
        State.SCHEDULED: ("Scheduled", "scheduled", "Not started yet"),
        State.ENDED: ("Ended", "ended", "This space has ended"),
        State.GONE: ("Gone", "ended", "This space no longer exists"),
    }
    return labels.get(state, ("Unknown", "unknown", "Not checked yet"))


def embeds_player(space: Space, config: Config) -> bool:
    """Say whether the space plays in an embedded player: its platform's, on our room server.

    The page's Content-Security-Policy lets frames come from our room server only.
    """
    if not registry.get(space.platform).embeds_player:
        return False
    player = http_url(space.player_url)
    rooms = origin_of(config.rooms_url)
    return bool(player and rooms and origin_of(player) == rooms)


def link_out(space: Space) -> str:
    """Return where to listen to a space we do not play: its web page, else the address
    its platform's apps open (a Nostr activity's `nostr:` URI); "" when there is none."""
    return http_url(space.url) or registry.get(space.platform).app_link(space.url or "")


def link_out_label(space: Space) -> str:
    """Return the call to action for spaces we link to instead of embedding."""
    return registry.get(space.platform).listen_label


def share_text(space: Space, config: Config, now: datetime, interval_s: float) -> str:
    """Return ready-to-post text announcing a space, ending with its portal link."""
    title = space.title or "an audio space"
    host = space.host.name if space.host and space.host.name else ""
    by = f" with {host}" if host else ""
    url = space_page_url(config, space.id)
    if is_live_now(space, now, interval_s):
        return f"Live now: \u201c{title}\u201d{by}. Listen in: {url}"
    if space.state == State.SCHEDULED and space.scheduled_start:
        start = when_text(space.scheduled_start)
        return f"\u201c{title}\u201d{by} starts {start}. Join here: {url}"
    return f"\u201c{title}\u201d{by}: {url}"


def snippet_markup(snippet: str) -> Markup:
    """Return a search snippet as markup in which <mark> is the only tag.

    The backend promises escaped text with <mark> around matches; re-escaping
    everything else means a backend that forgot to escape still cannot inject markup.
    """
    text = escape(html.unescape(snippet or ""))
    marked = str(text).replace("&lt;mark&gt;", "<mark>").replace("&lt;/mark&gt;", "</mark>")
    return Markup(marked)  # noqa: S704 - all but <mark> was escaped just above
