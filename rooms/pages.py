"""The HTML pages (room page, embeddable player) and the public directory feeds."""

from __future__ import annotations

import json
import sys
import sysconfig
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import jinja2
from aiohttp import web

from rooms.hub import HUB, RoomHub
from rooms.ice import client_ice_servers
from rooms.protocol import REACTIONS
from rooms.store import ENDED, LIVE, RoomRecord, isoformat, utcnow

# Same-origin scripts only; the player talks to this server over HTTP and WebSocket.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; media-src 'self' blob:; object-src 'none'; base-uri 'none'"
)
ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
TEMPLATES = web.AppKey("rooms_templates", jinja2.Environment)


class RoomLinks(Protocol):
    """Give a room's public page address: all the page texts need of a RoomHub."""

    def share_url(self, room_id: str) -> str:
        """Return the public page address of a room."""


def templates_dir() -> Path:
    """Return the folder holding `rooms/`'s templates: in a source checkout, or installed."""
    candidates = [
        Path(__file__).resolve().parent.parent / "templates",
        Path(sys.prefix) / "share" / "spaces" / "templates",
        Path(sysconfig.get_path("data")) / "share" / "spaces" / "templates",
    ]
    for folder in candidates:
        if (folder / "rooms" / "room.html").is_file():
            return folder
    raise FileNotFoundError(
        "the room server's templates (rooms/room.html) are in none of "
        + ", ".join(map(str, candidates))
        + "; reinstall the package so its data files are in place"
    )


def make_templates() -> jinja2.Environment:
    """Build the Jinja environment over the templates folder, escaping HTML."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates_dir()),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def json_ld(hub: RoomLinks, record: RoomRecord) -> str:
    """Return the room's schema.org BroadcastEvent, safe to place inside <script>."""
    url = hub.share_url(record.id)
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BroadcastEvent",
        "name": record.title,
        "description": record.description,
        "url": url,
        "startDate": record.started_at or record.scheduled_start,
        "endDate": record.ended_at,
        # A space is always a live broadcast; whether it is on now is in the status JSON.
        "isLiveBroadcast": True,
        "eventStatus": "https://schema.org/EventScheduled",
        "inLanguage": record.lang or None,
        "keywords": ",".join(record.topics) or None,
        "organizer": {
            "@type": "Person",
            "name": record.host_name,
            "identifier": record.public_handle,
            **({"url": record.host_profile} if record.host_profile else {}),
        },
        "location": {"@type": "VirtualLocation", "url": url},
    }
    data = {key: value for key, value in data.items() if value is not None}
    text = json.dumps(data, ensure_ascii=False)
    # Escaping <, > and & keeps a title like "</script>" from ending the block.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _render(request: web.Request, template: str, status: int = 200, **context: Any) -> web.Response:
    html = request.app[TEMPLATES].get_template(template).render(**context)
    return web.Response(
        text=html, status=status, content_type="text/html", headers={"Content-Security-Policy": CSP}
    )


REACTION_LABELS = dict(
    zip(
        REACTIONS,
        ["clap", "heart", "laugh", "party", "hundred", "raised hands", "fire", "raised hand"],
        strict=True,
    )
)


def share_text(hub: RoomLinks, record: RoomRecord) -> str:
    """Return a ready-to-post line announcing the space, with its link."""
    when = {LIVE: "Live now", ENDED: "Just ended"}.get(record.state, "Coming up")
    return (
        f"{when}: {record.title} on Spaces, hosted by {record.host_name} {hub.share_url(record.id)}"
    )


def _context(hub: RoomHub, record: RoomRecord) -> dict[str, Any]:
    return {
        "reactions": list(REACTION_LABELS.items()),
        "share_text": share_text(hub, record),
        "room": hub.status(record),
        "json_ld": json_ld(hub, record),
        "status_path": f"/api/rooms/{record.id}",
        "ws_path": f"/ws/rooms/{record.id}",
        # Only this origin may drive the embedded player from its parent page.
        "portal_origin": _origin(hub.config.portal_url),
        "ice_servers": json.dumps(client_ice_servers(hub.config)),
        "max_webrtc_listeners": hub.config.max_webrtc_listeners,
    }


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


async def room_page(request: web.Request) -> web.Response:
    """GET /s/<id>: the public page crawlers and people read."""
    hub: RoomHub = request.app[HUB]
    record = hub.store.get(request.match_info["room_id"])
    if record is None:
        return _render(request, "rooms/missing.html", status=404)
    return _render(request, "rooms/room.html", **_context(hub, record))


async def embed_page(request: web.Request) -> web.Response:
    """GET /s/<id>/embed: the player alone, for an iframe on the portal."""
    hub: RoomHub = request.app[HUB]
    record = hub.store.get(request.match_info["room_id"])
    if record is None:
        return _render(request, "rooms/missing.html", status=404)
    return _render(request, "rooms/embed.html", **_context(hub, record))


def _directory(hub: RoomHub) -> list[RoomRecord]:
    return hub.store.directory(hub.config.directory_keep_s)


async def atom_feed(request: web.Request) -> web.Response:
    """GET /rooms.atom: live, scheduled and recently ended rooms as an Atom feed."""
    hub: RoomHub = request.app[HUB]
    base = hub.config.rooms_url
    feed = ET.Element("feed", xmlns=ATOM)
    ET.SubElement(feed, "id").text = f"{base}/rooms.atom"
    ET.SubElement(feed, "title").text = "Spaces rooms on this server"
    ET.SubElement(feed, "link", rel="self", href=f"{base}/rooms.atom")
    ET.SubElement(feed, "updated").text = isoformat(utcnow())
    ET.SubElement(ET.SubElement(feed, "author"), "name").text = "Spaces room server"
    for record in _directory(hub):
        url = hub.share_url(record.id)
        entry = ET.SubElement(feed, "entry")
        ET.SubElement(entry, "id").text = url
        state = {LIVE: "Live", ENDED: "Ended"}.get(record.state, "Scheduled")
        ET.SubElement(entry, "title").text = f"[{state}] {record.title}"
        ET.SubElement(entry, "link", rel="alternate", type="text/html", href=url)
        ET.SubElement(
            entry,
            "link",
            rel="related",
            type="application/json",
            href=f"{base}/api/rooms/{record.id}",
        )
        updated = record.ended_at or record.started_at or record.created_at
        ET.SubElement(entry, "updated").text = updated
        ET.SubElement(ET.SubElement(entry, "author"), "name").text = record.host_name
        ET.SubElement(entry, "summary").text = record.description or record.title
        for topic in record.topics:
            ET.SubElement(entry, "category", term=topic)
    body = ET.tostring(feed, encoding="unicode", xml_declaration=True)
    return web.Response(text=body, content_type="application/atom+xml")


async def sitemap(request: web.Request) -> web.Response:
    """GET /sitemap.xml: every room page in the directory."""
    hub: RoomHub = request.app[HUB]
    urlset = ET.Element("urlset", xmlns=SITEMAP)
    for record in _directory(hub):
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = hub.share_url(record.id)
        ET.SubElement(url, "lastmod").text = (
            record.ended_at or record.started_at or record.created_at
        )
        ET.SubElement(url, "changefreq").text = "always" if record.state == LIVE else "daily"
    body = ET.tostring(urlset, encoding="unicode", xml_declaration=True)
    return web.Response(text=body, content_type="application/xml")
