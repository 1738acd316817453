"""Build Atom 1.0 feeds (RFC 4287) of spaces."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from xml.etree import ElementTree as ET

from core.catalog.models import Space
from core.config import Config
from core.timeutil import isoformat
from portal.present import badge, host_json, http_url, space_page_url

ATOM_NS = "http://www.w3.org/2005/Atom"
# Characters XML 1.0 cannot carry at all, escaped or not; crawled text can hold them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: str | None) -> str:
    """Return `value` without the characters XML cannot represent."""
    return _NOT_XML.sub("", value or "")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _entry(feed: ET.Element, space: Space, config: Config, now: datetime) -> None:
    page = space_page_url(config, space.id)
    entry = _add(feed, "entry")
    _add(entry, "id", page)
    label = badge(space, now, config.live_check_interval_s)[0]
    _add(entry, "title", f"[{label}] {space.title or 'Untitled space'}")
    _add(entry, "link", rel="alternate", type="text/html", href=page)
    original = http_url(space.url)
    if original and original != page:
        _add(entry, "link", rel="related", type="text/html", href=original)
    _add(entry, "updated", isoformat(space.updated_at) or isoformat(now))
    start = space.started_at or space.scheduled_start
    if start is not None:
        _add(entry, "published", isoformat(start))
    host = host_json(space, config)
    author = _add(entry, "author")
    _add(author, "name", host["name"] or "Unknown host")
    if host["url"]:
        _add(author, "uri", host["url"])
    _add(entry, "summary", space.description or space.title or "")
    for topic in space.topics or []:
        _add(entry, "category", term=str(topic))


def atom_feed(
    spaces: Sequence[Space],
    *,
    config: Config,
    self_url: str,
    title: str,
    now: datetime,
    page_url: str | None = None,
) -> bytes:
    """Return an Atom document listing `spaces`; every text is escaped by the serializer.

    `page_url` is the web page showing the same list (the home page when not given).
    """
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _add(feed, "id", self_url)
    _add(feed, "title", title)
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    _add(feed, "link", rel="alternate", type="text/html", href=page_url or config.portal_url + "/")
    newest = max((s.updated_at for s in spaces if s.updated_at), default=now)
    _add(feed, "updated", isoformat(newest))
    _add(_add(feed, "author"), "name", "Spaces")
    _add(feed, "generator", "Spaces portal")
    for space in spaces:
        _entry(feed, space, config, now)
    # With an encoding other than "unicode" the serializer returns bytes; its stub says Any.
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document
