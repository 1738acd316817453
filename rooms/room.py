"""A live room: its participants, their roles and media, owned in one place.

Who may do what to whom lives in rooms.control; this module applies the outcome
(a role, a mute, a removal) to the participant's media and tells everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rooms.captions import CaptionFeed
from rooms.config import RoomsConfig
from rooms.media import OfferError, PeerMedia
from rooms.mixer import Mixer
from rooms.peer import (
    MAX_TALKERS,
    ROOM_REACTION_BURST,
    ROOM_REACTION_RATE,
    TALKING_ROLES,
    Peer,
    RoomError,
    now,
)
from rooms.protocol import TokenBucket
from rooms.store import ENDED, LIVE, RoomRecord

__all__ = ["MAX_TALKERS", "Peer", "Room", "RoomError", "now"]

log = logging.getLogger(__name__)

STATE_DELAY_S = 0.5  # room state goes out at most twice a second
AUDIENCE_SHOWN = 24  # listeners named in every state message; the count stays exact


class Room:
    """Own a live room's participants and mixer; close every connection when it ends."""

    def __init__(
        self,
        record: RoomRecord,
        on_change: Callable[[Room], None],
        *,
        config: RoomsConfig | None = None,
        on_abandoned: Callable[[Room], Awaitable[None]] | None = None,
    ) -> None:
        self.record = record
        self.peers: dict[str, Peer] = {}
        self.mixer = Mixer()
        self.max_talkers = config.max_talkers if config else MAX_TALKERS
        self.max_cohosts = config.max_cohosts if config else 2
        self.host_grace_s = config.host_grace_s if config else 120.0
        self.ice_servers = config.ice_servers if config else ()
        # Roles given in this space, by identity, so a dropped speaker comes back as one.
        self.granted: dict[str, str] = {}
        self.banned_identities: set[str] = set()
        self.banned_addresses: set[str] = set()
        self.reactions = TokenBucket(ROOM_REACTION_BURST, ROOM_REACTION_RATE)
        self._on_change = on_change
        self._on_abandoned = on_abandoned
        self._announce: asyncio.TimerHandle | None = None
        self._host_timer: asyncio.TimerHandle | None = None
        self._told_away = False  # participants were told the host is gone
        # Live captions while the room is live (rooms.recording.start_media).
        self.captions: CaptionFeed | None = None
        self.mixer.on_levels = self._send_levels
        self.mixer.start()
        self.host_check()

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

    def is_banned(self, identity: str, address: str, *, guest: bool) -> bool:
        """Return True if this identity (or, for guests, address) was removed from the room."""
        return identity in self.banned_identities or (guest and address in self.banned_addresses)

    # -- joining and leaving ----------------------------------------------------------

    def add(self, peer: Peer) -> None:
        """Admit a participant, or raise RoomError if the room cannot take them."""
        if self.record.state == ENDED:
            raise RoomError("ended", "this space has ended; it cannot be joined again")
        if self.is_banned(peer.identity, peer.address, guest=peer.guest):
            raise RoomError("removed", "you were removed from this space and cannot rejoin it")
        if peer.talks and peer.role != "host" and self.talker_count >= self.max_talkers:
            raise RoomError(
                "full", f"this space already has {self.max_talkers} people who can talk"
            )
        if peer.role == "host":
            for other in [p for p in self.peers.values() if p.role == "host"]:
                # The host reconnected (new tab, network change): the old link is stale.
                asyncio.ensure_future(self.remove(other, reason="replaced"))
            peer.muted = True  # a host always starts muted
        self.peers[peer.id] = peer
        self.host_check()
        self.changed()

    async def negotiate(self, peer: Peer, offer_sdp: str) -> str:
        """Accept the participant's offer (first or a renegotiation); return the answer."""
        first = peer.media is None
        if first:
            peer.media = PeerMedia(self.mixer, peer.id, self.ice_servers)
            self._watch(peer)
        assert peer.media is not None
        try:
            answer = await peer.media.negotiate(offer_sdp, peer.talks)
        except OfferError as exc:
            if first:
                # Let the client retry with a better offer on a fresh connection.
                media, peer.media = peer.media, None
                await media.close()
            raise RoomError("bad_offer", str(exc)) from exc
        if peer.id not in self.peers:
            raise RoomError("ended", "you left the space while connecting")
        self.apply_media(peer)
        return answer

    def _watch(self, peer: Peer) -> None:
        assert peer.media is not None
        pc = peer.media.pc

        @pc.on("connectionstatechange")
        async def _state() -> None:
            ended = pc.connectionState in ("failed", "closed")
            # A connection given up after a bad first offer is no reason to drop the
            # participant: they may offer again on a fresh one.
            current = peer.media is not None and peer.media.pc is pc
            if ended and current and self.peers.get(peer.id) is peer:
                await self.remove(peer, reason="connection " + pc.connectionState)

    def apply_media(self, peer: Peer) -> None:
        """Make the server hear (or drop) this participant as their role and mute say."""
        if peer.media is not None:
            peer.media.update(may_talk=peer.talks, unmuted=not peer.muted)

    async def remove(self, peer: Peer, *, reason: str = "left", code: int | None = None) -> None:
        """Disconnect a participant and free their media (closing with `code` if given)."""
        if self.peers.get(peer.id) is not peer:
            return
        del self.peers[peer.id]
        log.debug("room %s: peer %s removed (%s)", self.record.id, peer.id, reason)
        if self.captions is not None:
            self.captions.unsubscribe(peer)
        await self._close_peer(peer, code)
        self.host_check()
        self.changed()

    async def _close_peer(self, peer: Peer, code: int | None = None) -> None:
        if peer.media is not None:
            await peer.media.close()
        with contextlib.suppress(Exception):
            await (peer.close_socket(code=code) if code else peer.close_socket())

    # -- the host's absence ----------------------------------------------------------

    def host_check(self) -> None:
        """End the room after the grace period while it is live and its host is away."""
        away = self.record.state == LIVE and not self.host_present
        if not away and self._host_timer is not None:
            self._host_timer.cancel()
            self._host_timer = None
            if self._told_away:  # only those who heard the host was gone hear they are back
                self._told_away = False
                back = {"type": "notice", "code": "host_back", "message": "The host is back."}
                for peer in list(self.peers.values()):
                    if peer.role != "host":
                        self.tell(peer, back)
        elif away and self._host_timer is None and self._on_abandoned is not None:
            loop = asyncio.get_running_loop()
            self._host_timer = loop.call_later(self.host_grace_s, self._abandon)
            if self.peers:
                self._told_away = True
                self.broadcast(
                    {
                        "type": "notice",
                        "code": "host_away",
                        "message": f"The host lost connection; the space ends in "
                        f"{self.host_grace_s:.0f} s unless they return.",
                    }
                )

    def _abandon(self) -> None:
        self._host_timer = None
        if self._on_abandoned is not None and not self.host_present:
            log.info(
                "room %s: host did not return in %.0f s; ending", self.record.id, self.host_grace_s
            )
            asyncio.ensure_future(self._on_abandoned(self))

    # -- telling people -------------------------------------------------------------

    def broadcast(self, message: dict[str, Any]) -> None:
        """Send `message` to every participant, without waiting for slow sockets."""
        for peer in list(self.peers.values()):
            asyncio.ensure_future(_quietly(peer.send(message)))

    def broadcast_text(self, text: str) -> None:
        """Send an already encoded message to every participant (encoded once for all)."""
        for peer in list(self.peers.values()):
            if peer.send_text is not None:
                asyncio.ensure_future(_quietly(peer.send_text(text)))

    def _send_levels(self, levels: dict[str, float]) -> None:
        # Called by the mixer at most LEVELS_PER_S times a second, only while it has
        # something to say: one small message, encoded once, for everyone.
        if self.peers and self.record.state != ENDED:
            self.broadcast_text(json.dumps({"type": "levels", "levels": levels}))

    def tell(self, peer: Peer, message: dict[str, Any]) -> None:
        """Send `message` to one participant in the background."""
        asyncio.ensure_future(_quietly(peer.send(message)))

    def changed(self) -> None:
        """Tell the participants about the new state soon, once, however many changes."""
        self._on_change(self)
        if self._announce is None and self.record.state != ENDED:
            loop = asyncio.get_running_loop()
            self._announce = loop.call_later(STATE_DELAY_S, self._send_state)

    def send_state_now(self) -> None:
        """Send the state at once (the space started or ended), not after the usual delay."""
        self._on_change(self)
        if self._announce is not None:
            self._announce.cancel()
        self._send_state()

    def _send_state(self) -> None:
        self._announce = None
        public = self.state_message()
        panel = (
            {**public, **self.guests_panel()}
            if any(p.moderates for p in self.peers.values())
            else public
        )
        for peer in list(self.peers.values()):
            self.tell(peer, panel if peer.moderates else public)

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

    async def end(self) -> None:
        """Tell every participant the room ended, disconnect them all, stop the mixer."""
        for timer in (self._announce, self._host_timer):
            if timer is not None:
                timer.cancel()
        self._announce = self._host_timer = None
        self.mixer.on_levels = None
        # A last state (everyone is leaving), then `ended`, in that order for each peer.
        final = {
            **self.state_message(),
            "listener_count": 0,
            "speakers": [],
            "audience": [],
            "host_present": False,
        }
        peers = list(self.peers.values())
        self.peers.clear()
        await asyncio.gather(*(_quietly(p.send(final)) for p in peers))
        await asyncio.gather(*(_quietly(p.send({"type": "ended"})) for p in peers))
        await asyncio.gather(*(self._close_peer(p) for p in peers))
        await self.mixer.close()


async def _quietly(awaitable: Awaitable[Any]) -> None:
    # A participant whose socket is already gone cannot be told anything; that is fine.
    with contextlib.suppress(Exception):
        await awaitable
