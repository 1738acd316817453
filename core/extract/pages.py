"""Read a space's own page: its event metadata (JSON-LD, OpenGraph) into a record.

Everything here is a pure function of a page's text and URL, so it can be tested
without a network. Every string taken from a page is untrusted: it passes through
`clean_text` (no markup, no control characters, bounded length) before it leaves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from parsel import Selector

from core.catalog.records import SpaceRecord
from core.catalog.states import State
from core.extract.language import detect_language, hashtags, merge_topics, normalize_lang
from core.extract.text import DESCRIPTION_MAX, HANDLE_MAX, NAME_MAX, TITLE_MAX, clean_text, slug
from core.timeutil import parse_iso
from core.urls import canonical_url, same_site

EVENT_TYPES = frozenset({"BroadcastEvent", "Event", "PublicationEvent", "SocialEvent"})


def as_selector(page: str | Selector) -> Selector:
    """Return a selector for a page given as text or already parsed."""
    return page if isinstance(page, Selector) else Selector(text=page or "<html></html>")


def page_url(page: str | Selector, url: str) -> str:
    """Return the page's canonical URL, honouring rel=canonical or og:url on the same site only."""
    own = canonical_url(url)
    # A page may not claim another site's URL: that would let it rewrite their space.
    # (A room server's other host names are weighed in core.platforms.rooms.)
    for candidate in declared_urls(page, own):
        if same_site(candidate, own):
            return candidate
    return own


def declared_urls(page: str | Selector, url: str, event: dict[str, Any] | None = None) -> list[str]:
    """Return the URLs a page declares as its own, canonical and deduplicated, strongest first.

    These are its `<link rel="canonical">`, its `og:url` and, given its JSON-LD event, the
    event's `url`; relative ones are resolved against `url`. Nothing here is trusted:
    callers decide which claim to believe.
    """
    sel = as_selector(page)
    found = [
        *sel.xpath(
            '//link[contains(concat(" ", normalize-space(@rel), " "), " canonical ")]/@href'
        ).getall()[:1],
        *sel.xpath('//meta[@property="og:url"]/@content').getall()[:1],
    ]
    if event is not None and isinstance(event.get("url"), str):
        found.append(event["url"])
    urls = (canonical_url(value, url) for value in found if value.strip())
    return list(dict.fromkeys(value for value in urls if value))


def read_event_page(
    sel: Selector,
    url: str,
    platform: str,
    event: dict[str, Any] | None,
    *,
    now: datetime | None = None,
) -> SpaceRecord:
    """Return the record of a space's page as its metadata describes it, for `platform`.

    `event` is the page's JSON-LD event (see find_event), or None when it has none: the
    title and description then come from OpenGraph and the page's own title.
    """
    event = event or {}
    og = {
        meta.attrib.get("property", ""): meta.attrib.get("content", "")
        for meta in sel.xpath("//meta[starts-with(@property, 'og:')]")
    }
    own_url = page_url(sel, url)
    organizer = _first(event.get("organizer")) or {}
    # A room server states the room's state outright; the event's dates only imply it
    # (its JSON-LD always says isLiveBroadcast, scheduled or not).
    state = _declared_state(sel) or event_state(event, now=now)
    start = parse_time(event.get("startDate"))
    title = clean_text(event.get("name") or og.get("og:title") or _title(sel), TITLE_MAX)
    description = clean_text(event.get("description") or og.get("og:description"), DESCRIPTION_MAX)
    record = SpaceRecord(
        url=own_url,
        platform=platform,
        title=title,
        description=description,
        state=state,
        started_at=start if state in (State.LIVE, State.ENDED) else None,
        scheduled_start=start if state == State.SCHEDULED else None,
        ended_at=parse_time(event.get("endDate")),
        topics=merge_topics(
            _topics(event.get("keywords")),
            _topics(sel.xpath('//meta[@name="keywords"]/@content').get()),
            hashtags(title, description),
        ),
        lang=_language(event, sel, title, description),
    )
    if isinstance(organizer, dict):
        _fill_host(record, organizer, own_url)
    elif isinstance(organizer, str):
        record.host_name = clean_text(organizer, NAME_MAX)
        record.host_handle = slug(record.host_name)
    if not record.host_name:
        record.host_name = clean_text(sel.xpath('//meta[@name="spaces:host"]/@content').get())
    return record


def _declared_state(sel: Selector) -> State | None:
    value = (sel.xpath('//meta[@name="spaces:state"]/@content').get() or "").strip().lower()
    return State(value) if value in (State.LIVE, State.SCHEDULED, State.ENDED) else None


def _language(event: dict[str, Any], sel: Selector, title: str, description: str) -> str:
    # The event's own inLanguage is a statement about the space; <html lang> is usually a
    # site template's default, so the text itself is trusted over it.
    declared = normalize_lang(clean_text(event.get("inLanguage"), 16))
    fallback = normalize_lang(clean_text(sel.xpath("/html/@lang").get(), 16))
    return declared or detect_language(title, description) or fallback


def find_event(page: str | Selector) -> dict[str, Any] | None:
    """Return the page's first JSON-LD event object (BroadcastEvent or Event), if any."""
    for block in as_selector(page).xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(block)
        except ValueError:
            continue  # broken JSON-LD is common; the next block may still be good
        for node in _nodes(data):
            types = node.get("@type")
            types = set(types) if isinstance(types, list) else {types}
            if types & EVENT_TYPES:
                return node
    return None


def _nodes(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _nodes(data["@graph"])


def event_state(event: dict[str, Any], *, now: datetime | None = None) -> State | None:
    """Return live, scheduled or ended as the event's metadata says, or None if it can't tell."""
    now = now or datetime.now(UTC)
    status = str(event.get("eventStatus") or "").rsplit("/", 1)[-1]
    start, end = parse_time(event.get("startDate")), parse_time(event.get("endDate"))
    if status == "EventCancelled" or (end is not None and end <= now):
        return State.ENDED
    if _is_live(event) and (start is None or start <= now):
        return State.LIVE
    if start is not None and start > now:
        return State.SCHEDULED
    return None


def _is_live(event: dict[str, Any]) -> bool:
    value = event.get("isLiveBroadcast")
    return value is True or str(value).lower() == "true"


def parse_time(value: Any) -> datetime | None:
    """Return an aware UTC datetime from an ISO 8601 string, or None if it is not one."""
    parsed = parse_iso(value)
    return parsed.astimezone(UTC) if parsed is not None else None


def _fill_host(record: SpaceRecord, organizer: dict[str, Any], base: str) -> None:
    record.host_name = clean_text(organizer.get("name"), NAME_MAX)
    handle = organizer.get("alternateName") or organizer.get("identifier") or ""
    raw_url = organizer.get("url")
    host_url = canonical_url(raw_url, base) if isinstance(raw_url, str) and raw_url else ""
    if not handle and host_url:
        handle = urlsplit(host_url).path.rstrip("/").rsplit("/", 1)[-1]
    handle = clean_text(handle, HANDLE_MAX).lstrip("@") or slug(record.host_name)
    record.host_handle = handle
    record.host_url = host_url


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else value


def _title(sel: Selector) -> str:
    return " ".join(sel.xpath("//title//text()").getall())


def _topics(value: Any) -> list[str]:
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else []
    topics = [clean_text(item, 40).lower() for item in items if isinstance(item, str)]
    return list(dict.fromkeys(topic for topic in topics if topic))[:10]
