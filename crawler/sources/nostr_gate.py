"""What a relay sends, checked before it is believed: size, rate, signature, filter, order.

A relay is a stranger's server: it may flood us, send huge messages, pass on forged or
altered events, or events we never asked for, or an old version of an activity after
a newer one. A Gate reads one relay's messages and lets through only verified events
that match the subscription, newest version first; everything else is refused,
counted by reason, and logged once per reason (then only counted), so a misbehaving
relay costs a counter, not a log line or a database write per message.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from core.platforms.nip01 import InvalidEvent, verify_event
from core.platforms.nostr import KINDS, address_of

log = logging.getLogger(__name__)

#: A WebSocket frame past this closes the connection (aiohttp's own cap).
MAX_FRAME_BYTES = 1024 * 1024
#: A message past this is refused: a live activity is a few kilobytes.
MAX_EVENT_BYTES = 64 * 1024
#: Events a relay may send per second, with bursts of BURST (a token bucket).
EVENTS_PER_S = 50.0
BURST = 200
#: Events dropped by the rate cap in a row before the relay is called flooding.
FLOOD_DROPS = 1000
#: Activities whose newest version is remembered, to refuse older ones.
REMEMBERED = 10_000
#: The catalog reason code each refusal is reported under (crawler.sources.base.REASONS).
REASON_CODES = {
    "bad_id": "refused",
    "bad_signature": "refused",
    "off_filter": "refused",
    "malformed": "parse",
    "parse": "parse",
    "not_activity": "parse",
    "too_large": "too_large",
    "rate_limited": "rate_limited",
}


class Gate:
    """Check one relay's messages for one subscription's filter (see the module)."""

    def __init__(
        self,
        relay: str,
        tags: list[str],
        *,
        rate: float = EVENTS_PER_S,
        burst: int = BURST,
        max_bytes: int = MAX_EVENT_BYTES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.relay = relay
        self.tags = frozenset(tags)
        self.rate, self.burst, self.max_bytes = rate, burst, max_bytes
        self.clock = clock
        self.counts: Counter[str] = Counter()
        self._tokens = float(burst)
        self._last = clock()
        self._drops_in_row = 0
        self._newest: dict[str, tuple[int, str]] = {}
        self._told: set[str] = set()

    @property
    def refused(self) -> int:
        """Return how many messages were refused, for any reason."""
        return sum(n for reason, n in self.counts.items() if reason not in ("accepted", "stale"))

    @property
    def flooding(self) -> bool:
        """Say whether the relay keeps sending past its rate cap."""
        return self._drops_in_row >= FLOOD_DROPS

    def read(self, text: str, sub: str) -> tuple[str, dict[str, Any] | None]:
        """Return a message's verb and, for an event let through, the event."""
        if len(text) > self.max_bytes:
            self.refuse("too_large", f"a message of {len(text)} bytes (at most {self.max_bytes})")
            return "", None
        try:
            message = json.loads(text)
            verb = str(message[0])
        except (ValueError, TypeError, KeyError, IndexError):
            self.refuse("parse", "a message is not a NIP-01 JSON array")
            return "", None
        if not isinstance(message, list):
            self.refuse("parse", "a message is not a NIP-01 JSON array")
            return "", None
        if verb == "EVENT":
            if len(message) != 3 or message[1] != sub:
                self.refuse("off_filter", "an event came for a subscription we did not open")
                return verb, None
            return verb, self.admit(message[2])
        if verb in ("EOSE", "CLOSED") and len(message) >= 2 and message[1] != sub:
            return "", None
        if verb in ("NOTICE", "CLOSED"):
            self.tell_once(f"says:{verb}", f"relay {self.relay} says {verb}: {message[1:]!r:.200}")
        return verb, None

    def admit(self, event: Any) -> dict[str, Any] | None:
        """Return `event` if it is within the rate, verified, asked for and newest; else None."""
        if not self._take():
            self.refuse("rate_limited", f"events come faster than {self.rate:g}/s")
            return None
        try:
            verify_event(event)
            address = address_of(event)
        except InvalidEvent as bad:
            self.refuse(bad.reason, str(bad))
            return None
        if not self._asked_for(event):
            self.refuse("off_filter", "an event does not match the subscription's filter")
            return None
        coordinate = address.coordinate
        held = self._newest.get(coordinate)
        if held is not None and (held[0] > event["created_at"] or held[1] == event["id"]):
            self.counts["stale"] += 1  # an older version, or one already seen: not news
            return None
        if held is None and len(self._newest) >= REMEMBERED:
            self._newest.pop(next(iter(self._newest)))
        self._newest[coordinate] = (event["created_at"], event["id"])
        self.counts["accepted"] += 1
        return dict(event)

    def refuse(self, reason: str, message: str) -> None:
        """Count a refusal; log the first of each reason, with its reason code."""
        self.counts[reason] += 1
        code = REASON_CODES.get(reason, "refused")
        self.tell_once(
            reason,
            f"relay {self.relay}: {message}; refused ({code}: {reason}), "
            "further ones are counted, not logged",
            level=logging.WARNING,
        )

    def tell_once(self, key: str, message: str, *, level: int = logging.INFO) -> None:
        """Log `message` the first time `key` comes up for this relay."""
        if key not in self._told:
            self._told.add(key)
            log.log(level, "%s", message)

    def _take(self) -> bool:
        now = self.clock()
        self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < 1.0:
            self._drops_in_row += 1
            return False
        self._tokens -= 1.0
        self._drops_in_row = 0
        return True

    def _asked_for(self, event: dict[str, Any]) -> bool:
        if event["kind"] not in KINDS:
            return False
        if not self.tags:
            return True
        tags = {tag[1].lower() for tag in event["tags"] if len(tag) > 1 and tag[0] == "t"}
        return bool(tags & self.tags)
