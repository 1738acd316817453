"""Check every client message against the protocol: shape, size, field types and rate.

The same tables are documented in docs/rooms-protocol.md; keep the two in step.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGE_BYTES = 64 * 1024  # an SDP offer; every other message is far smaller
MAX_SMALL_MESSAGE_BYTES = 4 * 1024
MAX_NAME_CHARS = 40
MAX_PEER_ID_CHARS = 32
MAX_INVITE_CHARS = 2048
MAX_RESUME_CHARS = 2048

JOIN_ROLES = ("listener", "speaker", "host")
SET_ROLES = ("listener", "speaker", "cohost")
# A fixed set keeps reactions readable, cheap to draw and impossible to abuse as chat.
REACTIONS = ("👏", "❤️", "😂", "🎉", "💯", "🙌", "🔥", "✋")


class BadMessage(Exception):
    """A client message that does not follow the protocol."""


Check = Callable[[Any], str | None]  # returns what is wrong, or None


def _text(limit: int, *, prefix: str = "") -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if len(value) > limit:
            return f"must be at most {limit} characters"
        if prefix and not value.startswith(prefix):
            return f"must be a complete SDP offer starting with {prefix!r}"
        return None

    return check


def _one_of(choices: tuple[str, ...]) -> Check:
    def check(value: Any) -> str | None:
        return None if value in choices else f"must be one of {list(choices)}"

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _name(value: Any) -> str | None:
    problem = _text(MAX_NAME_CHARS)(value)
    if problem is None and (not value.strip() or not value.isprintable()):
        return "must be printable text, not blank"
    return problem


@dataclass(frozen=True)
class Schema:
    """The fields one message type may carry: name → (check, required)."""

    fields: dict[str, tuple[Check, bool]] = field(default_factory=dict)
    max_bytes: int = MAX_SMALL_MESSAGE_BYTES


_PEER = (_text(MAX_PEER_ID_CHARS), True)
SCHEMAS: dict[str, Schema] = {
    "join": Schema(
        {
            "role": (_one_of(JOIN_ROLES), False),
            "name": (_name, False),
            "start": (_boolean, False),
            "resume": (_text(MAX_RESUME_CHARS), False),
        }
    ),
    "offer": Schema({"sdp": (_text(MAX_MESSAGE_BYTES, prefix="v=0"), True)}, MAX_MESSAGE_BYTES),
    "ping": Schema(),
    "leave": Schema(),
    "end": Schema(),
    "start": Schema(),
    "request_speak": Schema({"invite": (_text(MAX_INVITE_CHARS), False)}),
    "cancel_request": Schema(),
    "approve": Schema({"peer_id": _PEER}),
    "decline": Schema({"peer_id": _PEER}),
    "set_role": Schema({"peer_id": _PEER, "role": (_one_of(SET_ROLES), True)}),
    "mute": Schema({"muted": (_boolean, True), "peer_id": (_text(MAX_PEER_ID_CHARS), False)}),
    "remove": Schema({"peer_id": _PEER}),
    "react": Schema({"emoji": (_one_of(REACTIONS), True)}),
    "invite": Schema(),
    "captions": Schema({"on": (_boolean, True)}),
}


def parse_message(data: str) -> dict[str, Any]:
    """Return the message in `data` if it is well formed, else raise BadMessage."""
    size = len(data.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise BadMessage(f"message too large (over {MAX_MESSAGE_BYTES} bytes)")
    try:
        message = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise BadMessage("message is not valid JSON") from exc
    if not isinstance(message, dict):
        raise BadMessage("message must be a JSON object with a 'type'")
    kind = message.get("type")
    if not isinstance(kind, str) or kind not in SCHEMAS:
        shown = kind if isinstance(kind, str | int | float | None) else type(kind).__name__
        raise BadMessage(
            f"unknown message type {str(shown)[:40]!r}; expected one of {sorted(SCHEMAS)}"
        )
    schema = SCHEMAS[kind]
    if size > schema.max_bytes:
        raise BadMessage(f"'{kind}' message too large (over {schema.max_bytes} bytes)")
    for key, value in message.items():
        if key == "type":
            continue
        if key not in schema.fields:
            raise BadMessage(f"'{kind}' message has an unexpected field {key[:40]!r}")
        problem = schema.fields[key][0](value)
        if problem:
            raise BadMessage(f"'{kind}' field {key!r} {problem}")
    missing = [
        key for key, (_, required) in schema.fields.items() if required and key not in message
    ]
    if missing:
        raise BadMessage(f"'{kind}' message needs the field(s) {missing}")
    return message


class TokenBucket:
    """Allow `rate` actions per second on average, with bursts up to `capacity`."""

    def __init__(self, capacity: float, rate: float, clock: Callable[[], float] = time.monotonic):
        self.capacity = capacity
        self.rate = rate
        self._clock = clock
        self._tokens = capacity
        self._last = clock()

    def take(self, cost: float = 1.0) -> bool:
        """Spend `cost` tokens if there are enough; return False when over the limit."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens < cost:
            return False
        self._tokens -= cost
        return True

    def wait_s(self, cost: float = 1.0) -> float:
        """Return how many seconds until `cost` tokens are available."""
        return max(0.0, (cost - self._tokens) / self.rate)
