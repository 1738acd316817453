"""Who is in a room, and telling them: the stage, the audience, `state` and `counts`.

A mixin of rooms.room.Room, which owns the participants and their media; this part
decides what each participant is told and when. State goes out at most twice a second
however many changes; in a large room listeners coming and going reach the audience
only as counts (see LARGE_ROOM), while the host and co-hosts keep the guests panel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.peer import TALKING_ROLES, Peer, RoomError
from rooms.store import ENDED, RoomRecord

STATE_DELAY_S = 0.5  # room state goes out at most twice a second
AUDIENCE_SHOWN = 24  # listeners named in every state message; the count stays exact
# Past this many listeners, listeners coming and going reach the audience only as a
# `counts` message, at most every COUNTS_EVERY_S: a state to everyone per join would
# grow with the square of the audience. Moderators keep their guests panel.
LARGE_ROOM = 50
COUNTS_EVERY_S = 3.0


class Presence:
    """Know who is in the room and keep them told (mixed into rooms.room.Room)."""

    record: RoomRecord
    peers: dict[str, Peer]
    _on_change: Callable[[Any], None]
    _announce: asyncio.TimerHandle | None
    _counts: asyncio.TimerHandle | None
    _counts_at: float
    _public_changed: bool  # the next state must reach everyone
    _welcome: set[str]  # joined since the last state went out

    # -- who is here -------------------------------------------------------------

    @property
    def listener_count(self) -> int:
        """Return how many listeners are connected now."""
        return sum(1 for p in self.peers.values() if p.role == "listener")

    @property
    def talker_count(self) -> int:
        """Return how many connected participants may talk (host and co-hosts included)."""
        return sum(1 for p in self.peers.values() if p.talks)

    @property
    def host_present(self) -> bool:
        """Return True while the host is connected."""
        return any(p.role == "host" for p in self.peers.values())

    @property
    def speakers(self) -> list[dict[str, str]]:
        """Return the connected talkers (host, co-hosts, speakers): name, handle, profile, role."""
        keys = ("name", "handle", "profile", "role")
        return [{key: p[key] for key in keys} for p in self.stage()]

    def stage(self) -> list[dict[str, Any]]:
        """Return everyone who may talk, host first, then co-hosts, then speakers."""
        talkers = sorted(
            (p for p in self.peers.values() if p.talks), key=lambda p: TALKING_ROLES.index(p.role)
        )
        return [p.public() for p in talkers]

    def find(self, peer_id: str) -> Peer:
        """Return the participant `peer_id`, or raise RoomError if not connected."""
        peer = self.peers.get(peer_id)
        if peer is None:
            raise RoomError("no_such_peer", f"nobody with peer_id {peer_id[:32]!r} is here now")
        return peer

    # -- telling people -------------------------------------------------------------

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send `message` to every participant, without waiting for slow sockets."""
        for peer in list(self.peers.values()):
            asyncio.ensure_future(quietly(peer.send(message)))

    def broadcast_text(self, text: str) -> None:
        """Send an already encoded message to every participant (encoded once for all)."""
        for peer in list(self.peers.values()):
            if peer.send_text is not None:
                asyncio.ensure_future(quietly(peer.send_text(text)))

    def _send_levels(self, levels: dict[str, float]) -> None:
        # Called by the mixer at most LEVELS_PER_S times a second, only while it has
        # something to say: one small message, encoded once, for everyone.
        if self.peers and self.record.state != ENDED:
            self.broadcast_text(json.dumps({"type": "levels", "levels": levels}))

    def tell(self, peer: Peer, message: dict[str, Any]) -> None:
        """Send `message` to one participant in the background."""
        asyncio.ensure_future(quietly(peer.send(message)))

    def changed(self, *, audience_only: bool = False) -> None:
        """Tell the participants about the new state soon, once, however many changes.

        `audience_only`: only listeners came, went or raised a hand; in a large room
        the audience then hears only the counts (see LARGE_ROOM).
        """
        self._on_change(self)
        self._public_changed = self._public_changed or not audience_only
        if self._announce is None and self.record.state != ENDED:
            loop = asyncio.get_running_loop()
            self._announce = loop.call_later(STATE_DELAY_S, self._send_state)

    def send_state_now(self) -> None:
        """Send the state at once (the space started or ended), not after the usual delay."""
        self._on_change(self)
        if self._announce is not None:
            self._announce.cancel()
        self._public_changed = True
        self._send_state()

    def _send_state(self) -> None:
        self._announce = None
        everyone = self._public_changed or self.listener_count <= LARGE_ROOM
        welcome, self._welcome = self._welcome, set()
        self._public_changed = False
        public = self.state_message()
        panel = (
            {**public, **self.guests_panel()}
            if any(p.moderates for p in self.peers.values())
            else public
        )
        for peer in list(self.peers.values()):
            if peer.moderates:
                self.tell(peer, panel)
            elif everyone or peer.id in welcome:
                self.tell(peer, public)
        if everyone and self._counts is not None:
            self._counts.cancel()
            self._counts = None
        elif not everyone and self._counts is None:
            loop = asyncio.get_running_loop()
            delay = max(0.0, self._counts_at + COUNTS_EVERY_S - loop.time())
            self._counts = loop.call_later(delay, self._send_counts)

    def _send_counts(self) -> None:
        self._counts = None
        self._counts_at = asyncio.get_running_loop().time()
        if self.record.state == ENDED:
            return
        text = json.dumps(self.counts_message())
        for peer in list(self.peers.values()):
            if not peer.moderates and peer.send_text is not None:
                asyncio.ensure_future(quietly(peer.send_text(text)))

    def counts_message(self) -> dict[str, Any]:
        """Return the `counts` message a large room's audience gets as listeners come and go."""
        return {
            "type": "counts",
            "listener_count": self.listener_count,
            "speaker_count": self.talker_count,
        }

    def state_message(self) -> dict[str, Any]:
        """Return the `state` message every participant gets."""
        return {
            "type": "state",
            "state": self.record.state,
            "listener_count": self.listener_count,
            "speakers": self.stage(),
            "audience": self.audience(),
            "host_present": self.host_present,
        }

    def audience(self) -> list[dict[str, Any]]:
        """Return the first AUDIENCE_SHOWN listeners, oldest first, as who they are."""
        shown: list[dict[str, Any]] = []
        for peer in self.peers.values():  # in joining order
            if peer.role == "listener":
                shown.append(peer.person())
                if len(shown) == AUDIENCE_SHOWN:
                    break
        return shown

    def guests_panel(self) -> dict[str, Any]:
        """Return the requests and listeners only the host and co-hosts see."""
        asking = [p for p in self.peers.values() if p.requested_at is not None]
        asking.sort(key=lambda p: (not p.invited, p.requested_at))
        listeners = [p.public() for p in self.peers.values() if p.role == "listener"]
        return {
            "requests": [{**p.public(), "invited": p.invited} for p in asking],
            "listeners": listeners[:500],  # a panel, not a census: the count is exact
        }


async def quietly(awaitable: Awaitable[Any]) -> None:
    """Await `awaitable`, ignoring failures of sockets that are already gone."""
    # A participant whose socket is already gone cannot be told anything; that is fine.
    with contextlib.suppress(Exception):
        await awaitable
