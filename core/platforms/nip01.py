"""Nostr events (NIP-01): their shape, their id, and their BIP-340 signature.

An event's id is the sha256 of one exact JSON serialisation of its content,
`[0, pubkey, created_at, kind, tags, content]`, and its `sig` a BIP-340 Schnorr
signature of that id by `pubkey`. Anyone can hand us an event claiming anything, so
every event read from a relay is checked here before it is believed: an altered event
no longer matches its id, and a forged one is not signed by the key it names.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from coincurve import PublicKeyXOnly

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_HEX128 = re.compile(r"^[0-9a-f]{128}$")
#: Bounds on what one event may carry: a live activity needs far less.
MAX_TAGS = 2000
MAX_TAG_ITEMS = 16
MAX_CONTENT = 64 * 1024


class InvalidEvent(ValueError):
    """An event that is malformed, altered or forged; `reason` says which."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason  # "malformed", "bad_id" or "bad_signature"


def check_shape(event: Any) -> dict[str, Any]:
    """Return `event` if it has every NIP-01 field with the right type; raise InvalidEvent."""
    if not isinstance(event, dict):
        raise InvalidEvent("malformed", "an event must be a JSON object")
    for name, pattern in (("id", _HEX64), ("pubkey", _HEX64), ("sig", _HEX128)):
        value = event.get(name)
        if not isinstance(value, str) or not pattern.match(value):
            raise InvalidEvent("malformed", f"the event's {name} is not lower-case hex of its size")
    for name in ("created_at", "kind"):
        value = event.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**53:
            raise InvalidEvent("malformed", f"the event's {name} is not a whole number")
    content, tags = event.get("content"), event.get("tags")
    if not isinstance(content, str) or len(content) > MAX_CONTENT:
        raise InvalidEvent("malformed", "the event's content is not text of a sane length")
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise InvalidEvent("malformed", "the event's tags are not a list of a sane length")
    for tag in tags:
        if (
            not isinstance(tag, list)
            or not 0 < len(tag) <= MAX_TAG_ITEMS
            or not all(isinstance(item, str) for item in tag)
        ):
            raise InvalidEvent("malformed", "every tag must be a short list of strings")
    return event


def serialise(event: dict[str, Any]) -> bytes:
    """Return the bytes an event's id is the hash of (NIP-01's canonical form)."""
    fields = [0, event["pubkey"], event["created_at"], event["kind"], event["tags"]]
    fields.append(event["content"])
    # No whitespace, UTF-8 verbatim; Python's escapes of quote, backslash and control
    # characters are the ones NIP-01 (and JSON.stringify, which most clients use) make.
    text = json.dumps(fields, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no client could have hashed this
        raise InvalidEvent("malformed", "the event has text that is not valid Unicode") from None


def event_id(event: dict[str, Any]) -> str:
    """Return the id an event must carry: the hex sha256 of its serialisation."""
    return hashlib.sha256(serialise(event)).hexdigest()


def verify_event(event: Any) -> None:
    """Check an event's shape, id and BIP-340 signature; raise InvalidEvent if any is wrong."""
    check_shape(event)
    digest = hashlib.sha256(serialise(event)).digest()
    if digest.hex() != event["id"]:
        raise InvalidEvent("bad_id", "the event's id does not match its content (altered)")
    try:
        key = PublicKeyXOnly(bytes.fromhex(event["pubkey"]))
        signed = key.verify(bytes.fromhex(event["sig"]), digest)
    except ValueError:  # not a point on the curve
        signed = False
    if not signed:
        raise InvalidEvent("bad_signature", "the event is not signed by the key it names")
