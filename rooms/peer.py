"""A participant in a room, their role, and the errors a room request can meet."""

from __future__ import annotations

import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from rooms.media import PeerMedia
from rooms.protocol import TokenBucket

MAX_TALKERS = 11  # the default; RoomsConfig.max_talkers is what a room enforces
TALKING_ROLES = ("host", "cohost", "speaker")
MODERATING_ROLES = ("host", "cohost")
# Each participant may send a burst of reactions, then about one every two seconds.
REACTION_BURST, REACTION_RATE = 5, 0.5
# However many people react, the room relays at most this many reactions per second.
ROOM_REACTION_BURST, ROOM_REACTION_RATE = 40, 20.0
_peer_ids = itertools.count(1)

Send = Callable[[dict[str, Any]], Awaitable[None]]
SendText = Callable[[str], Awaitable[None]]


class RoomError(Exception):
    """A request the room cannot accept; `code` is sent to the client as is."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(eq=False)
class Peer:
    """One connected participant: a WebSocket, a role, and media once it offers."""

    role: str  # host | cohost | speaker | listener
    identity: str
    name: str
    send: Send
    close_socket: Callable[..., Awaitable[Any]]
    id: str = field(default_factory=lambda: f"p{next(_peer_ids)}")
    # Sends a message already encoded as JSON (one encode for the whole room).
    send_text: SendText | None = None
    guest: bool = False  # joined without a token
    handle: str = ""  # public handle on the portal; "" for guests
    profile: str = ""  # portal profile URL; "" when unknown
    address: str = ""
    muted: bool = False
    requested_at: float | None = None  # set while asking to speak
    invited: bool = False
    media: PeerMedia | None = None
    reactions: TokenBucket = field(
        default_factory=lambda: TokenBucket(REACTION_BURST, REACTION_RATE)
    )

    @property
    def talks(self) -> bool:
        """Return True if this participant's role lets them be heard."""
        return self.role in TALKING_ROLES

    @property
    def moderates(self) -> bool:
        """Return True for the host and co-hosts."""
        return self.role in MODERATING_ROLES

    def person(self) -> dict[str, Any]:
        """Return who this participant is: peer id, name, handle and profile."""
        return {
            "peer_id": self.id,
            "name": self.name,
            "handle": "" if self.guest else self.handle,
            "profile": "" if self.guest else self.profile,
        }

    def public(self) -> dict[str, Any]:
        """Return what every participant may see about this one."""
        return {**self.person(), "role": self.role, "muted": self.muted}

    def you(self) -> dict[str, Any]:
        """Return the `you` message: this participant's own role and mute state."""
        return {
            "type": "you",
            "peer_id": self.id,
            "role": self.role,
            "muted": self.muted,
            "requested": self.requested_at is not None,
        }


def now() -> float:
    """Return a monotonic time for ordering requests to speak."""
    return time.monotonic()
