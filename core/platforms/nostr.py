"""Nostr live activities (NIP-53): audio rooms and streams announced on relays.

A live activity is an addressable event (kind 30311, a live stream or space; kind 30312,
an interactive audio room) that its provider replaces as the activity goes from planned
to live to ended. Its one address is the NIP-19 `naddr` of kind, author and `d` tag,
written `nostr:naddr1…`; the crawler learns of activities by subscribing to relays
(crawler/relays.py), so a space here is never fetched or polled for liveness: each new
version of its event, verified (core.platforms.nip01), says its state at once.

When an activity points at a space another platform knows by its address (an X Space,
say), that space is what it announces: the record is that platform's, provisional, and
carries no state, since whoever signed the event may not be whoever runs that space.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from core.catalog.records import SpaceRecord
from core.catalog.states import State
from core.extract.language import detect_language, merge_topics
from core.extract.text import DESCRIPTION_MAX, TITLE_MAX, clean_text
from core.platforms.base import Platform, Recognise
from core.platforms.nip01 import InvalidEvent, check_shape, verify_event
from core.platforms.nip19 import Address, Bech32Error, decode_naddr, encode_naddr, encode_npub
from core.timeutil import utcnow

__all__ = ["InvalidEvent", "Nostr", "parse_link", "record_from_event", "verify_event"]

LIVE_EVENT, AUDIO_ROOM = 30311, 30312
KINDS = (LIVE_EVENT, AUDIO_ROOM)
#: Web gateways that show a Nostr address at `https://HOST/naddr1…`.
GATEWAYS = frozenset({"njump.me"})
#: NIP-53: a `live` activity not updated for an hour may be taken as ended.
STALE_AFTER = timedelta(hours=1)
_STATES = {
    "planned": State.SCHEDULED,
    "live": State.LIVE,
    "ended": State.ENDED,
    # Kind 30312 rooms say whether they are open, or closed for good.
    "open": State.LIVE,
    "closed": State.ENDED,
}
_SPEAKING_ROLES = frozenset({"host", "speaker", "moderator"})
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_DIGITS = re.compile(r"[0-9]{1,12}")
_MEDIA = re.compile(r"\.(m3u8|mpd|mp3|mp4|m4a|aac|ogg|opus|webm|flv|ts)$", re.IGNORECASE)
_MAX_TIME = 2**33  # seconds: year 2242; later "timestamps" are nonsense


class Nostr(Platform):
    """NIP-53 live activities: known by their naddr, updated by relays, never fetched."""

    name = "nostr"
    listen_label = "Open on Nostr"

    def link(self, url: str) -> str:
        """Return the one `nostr:naddr1…` of a live activity's address (bare, nostr:, gateway)."""
        address = parse_link(url)
        return space_url(address) if address else ""

    def fetchable(self, url: str) -> bool:
        """Say no for `nostr:` addresses: there is no page to read at them."""
        return not url.strip().lower().startswith(("nostr:", "naddr1"))

    def app_link(self, url: str) -> str:
        """Return the activity's `nostr:naddr1…` URI, which Nostr apps open (NIP-21)."""
        return self.link(url)


def parse_link(url: str) -> Address | None:
    """Return the live activity an naddr link names, or None (another kind, or no naddr)."""
    text = (url or "").strip()
    lowered = text.lower()
    if lowered.startswith("nostr:"):
        name = text[len("nostr:") :]
    elif lowered.startswith("naddr1"):
        name = text
    elif lowered.startswith(("https://", "http://")):
        try:
            parts = urlsplit(text)
        except ValueError:
            return None
        if (parts.hostname or "").removeprefix("www.") not in GATEWAYS:
            return None
        name = parts.path.strip("/")
    else:
        return None
    try:
        address = decode_naddr(name)
    except Bech32Error:
        return None
    return address if address.kind in KINDS else None


def space_url(address: Address) -> str:
    """Return an activity's canonical URL: its naddr without relay hints.

    Hints differ from one sharer (and one relay) to the next; keeping them would make
    one activity many spaces.
    """
    return "nostr:" + encode_naddr(Address(address.kind, address.pubkey, address.identifier))


def tag_values(event: dict[str, Any], name: str) -> list[list[str]]:
    """Return the values (the items after the name) of every `name` tag of the event."""
    return [tag[1:] for tag in event["tags"] if tag and tag[0] == name]


def first(event: dict[str, Any], name: str) -> str:
    """Return the first value of the event's first `name` tag, or ""."""
    for values in tag_values(event, name):
        if values:
            return values[0]
    return ""


def address_of(event: dict[str, Any]) -> Address:
    """Return the address of a live activity's event; raise InvalidEvent if it is none."""
    check_shape(event)
    if event["kind"] not in KINDS:
        raise InvalidEvent("not_activity", f"kind {event['kind']} is not a live activity")
    identifiers = tag_values(event, "d")
    if not identifiers or not identifiers[0]:
        raise InvalidEvent("malformed", "a live activity needs a d tag")
    return Address(event["kind"], event["pubkey"], identifiers[0][0])


def page_link(event: dict[str, Any]) -> str:
    """Return the web page the activity is held at (its `service` or `streaming` URL), or "".

    Media (an HLS playlist, an audio file) is not a page.
    """
    for name in ("service", "streaming"):
        url = first(event, name).strip()
        web = url.lower().startswith(("https://", "http://")) and len(url) <= 2000
        if web and not _MEDIA.search(urlsplit(url).path):
            return url
    return ""


def record_from_event(
    event: dict[str, Any], *, recognise: Recognise, now: datetime | None = None
) -> SpaceRecord:
    """Return the space a live activity's event describes; raise InvalidEvent if none.

    The event's signature is not checked here: call verify_event first. `recognise`
    (the registry's) finds a space of another platform the event points at; the
    registry lists this platform too, so it is passed in rather than imported.
    """
    address = address_of(event)
    title = clean_text(first(event, "title") or first(event, "room"), TITLE_MAX)
    summary = clean_text(first(event, "summary"), DESCRIPTION_MAX)
    topics = merge_topics(values[0] for values in tag_values(event, "t") if values)
    status = first(event, "status").strip().lower()
    if status == "private":
        raise InvalidEvent("not_public", "a private room is not listed")
    other = _other_platform(event, recognise)
    if other is not None:
        platform, link = other
        record = platform.shared_record(link, title, summary)
        record.topics = merge_topics(record.topics, topics)
        return record
    state = _STATES.get(status)
    created = datetime.fromtimestamp(event["created_at"], UTC)
    if state == State.LIVE and created < (now or utcnow()) - STALE_AFTER:
        state = State.ENDED
    starts, ends = _time(first(event, "starts")), _time(first(event, "ends"))
    host = _host_key(event)
    streaming = first(event, "streaming") or first(event, "service")
    return SpaceRecord(
        url=space_url(address),
        platform=Nostr.name,
        title=title,
        description=summary,
        state=state,
        listener_count=_count(first(event, "current_participants")),
        speaker_count=_speakers(event),
        started_at=starts if state in (State.LIVE, State.ENDED) else None,
        scheduled_start=starts if state == State.SCHEDULED else None,
        ended_at=ends if state == State.ENDED else None,
        topics=topics,
        lang=detect_language(title, summary),
        host_handle=encode_npub(host),
        host_url="nostr:" + encode_npub(host),
        # A Nostr key names one person across every relay.
        host_scope=Nostr.name,
        player_url=streaming if streaming.lower().startswith(("https://", "http://")) else "",
    )


def _other_platform(event: dict[str, Any], recognise: Recognise) -> tuple[Platform, str] | None:
    """Return the platform (not this one) whose space the event points at, and its link."""
    for name in ("service", "streaming"):
        url = first(event, name).strip()
        found = recognise(url) if url and len(url) <= 2000 else None
        if found is not None and found[0].name != Nostr.name:
            return found
    return None


def _host_key(event: dict[str, Any]) -> str:
    for values in tag_values(event, "p"):
        if len(values) >= 3 and values[2].strip().lower() == "host" and _HEX64.match(values[0]):
            return values[0]
    return str(event["pubkey"])


def _speakers(event: dict[str, Any]) -> int | None:
    people = {
        values[0]
        for values in tag_values(event, "p")
        if len(values) >= 3 and values[2].strip().lower() in _SPEAKING_ROLES
    }
    return len(people) or None


def _count(value: str) -> int | None:
    value = value.strip()
    return int(value) if _DIGITS.fullmatch(value) and len(value) <= 9 else None


def _time(value: str) -> datetime | None:
    value = value.strip()
    if not _DIGITS.fullmatch(value) or not 0 < int(value) < _MAX_TIME:
        return None
    return datetime.fromtimestamp(int(value), UTC)
