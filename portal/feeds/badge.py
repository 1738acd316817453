"""Draw the live badge hosts embed on their own pages: a small two-part SVG."""

from __future__ import annotations

from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from core.catalog.freshness import unreachable
from core.catalog.models import Space
from core.catalog.states import State
from portal.feeds.atom import xml_text
from portal.present import when_text
from portal.queries import is_live_now

_COLOURS = {"live": "#d9134a", "stale": "#b3476a", "scheduled": "#5b21b6", "ended": "#5d5a72"}
_CHAR_W = 6.6  # average advance of 11 px sans-serif, close enough to size the boxes
_PAD = 8


def badge_text(space: Space, now: datetime, interval_s: float) -> tuple[str, str]:
    """Return (text, colour key): "LIVE · 123 listening", "Scheduled · <time>" or "Ended"."""
    state = str(space.state)
    if state == State.LIVE:
        count = int(space.listener_count or 0)
        # A room whose last check could not reach it is not claimed live on other sites.
        trusted = is_live_now(space, now, interval_s) and not unreachable(space)
        key = "live" if trusted else "stale"
        prefix = "LIVE" if key == "live" else "Live?"
        return f"{prefix} · {count} listening", key
    if state == State.SCHEDULED:
        start = when_text(space.scheduled_start)
        return (f"Scheduled · {start}" if start else "Scheduled"), "scheduled"
    if state in (State.ENDED, State.GONE):
        return "Ended", "ended"
    return "Not checked yet", "ended"


def _width(text: str) -> int:
    return round(len(text) * _CHAR_W + 2 * _PAD)


def badge_svg(space: Space, now: datetime, interval_s: float) -> str:
    """Return the badge as an SVG document; the text is escaped for XML."""
    status, key = badge_text(space, now, interval_s)
    left = "Spaces"
    lw, rw = _width(left), _width(status)
    total = lw + rw
    label = xml_text(f"{left}: {status} – {space.title or 'Untitled space'}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" '
        f'viewBox="0 0 {total} 20" role="img" aria-label={quoteattr(label)}>'
        f"<title>{escape(label)}</title>"
        f'<rect width="{total}" height="20" rx="4" fill="#1c1a29"/>'
        f'<rect x="{lw}" width="{rw}" height="20" rx="4" fill="{_COLOURS[key]}"/>'
        f'<rect x="{lw}" width="4" height="20" fill="{_COLOURS[key]}"/>'
        '<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{_PAD}" y="14">{escape(left)}</text>'
        f'<text x="{lw + _PAD}" y="14">{escape(xml_text(status))}</text>'
        "</g></svg>"
    )
