"""A live room: its participants, their roles and media, owned in one place.

Who may do what to whom lives in rooms.control; this module applies the outcome
(a role, a mute, a removal) to the participant's media and tells everyone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from rooms.captions import CaptionFeed
from rooms.config import RoomsConfig
from rooms.media import OfferError, PeerMedia
from rooms.mixer import Mixer
from rooms.peer import (
    MAX_TALKERS,
    ROOM_REACTION_BURST,
    ROOM_REACTION_RATE,
    Peer,
    RoomError,
    now,
)
from rooms.presence import AUDIENCE_SHOWN, LARGE_ROOM, Presence, quietly
from rooms.protocol import TokenBucket
from rooms.store import ENDED, LIVE, RoomRecord

__all__ = ["AUDIENCE_SHOWN", "LARGE_ROOM", "MAX_TALKERS", "Peer", "Room", "RoomError", "now"]

log = logging.getLogger(__name__)

CLOSE_REPLACED = 4009  # the same person connected again elsewhere; do not retry
CLOSE_RESTART = 1012  # the server restarts; reconnect (RFC 6455 "service restart")


class Room(Presence):
    """Own a live room's participants and mixer; close every connection when it ends."""

    def __init__(
        self,
        record: RoomRecord,
        on_change: Callable[[Room], None],
        *,
        config: RoomsConfig | None = None,
        on_abandoned: Callable[[Room], Awaitable[None]] | None = None,
        on_record: Callable[[], None] | None = None,
    ) -> None:
        self.record = record
        self.peers: dict[str, Peer] = {}
        self.mixer = Mixer()
        self.max_talkers = config.max_talkers if config else MAX_TALKERS
        self.max_cohosts = config.max_cohosts if config else 2
        self.host_grace_s = config.host_grace_s if config else 120.0
        self.ice = config.ice if config else None  # STUN/TURN, public address, UDP ports
        # Roles given in this space, by identity, so a dropped speaker comes back as one;
        # kept in the record (saved through `on_record`) so a restart keeps them too.
        self.granted: dict[str, str] = record.roles
        self.banned_identities: set[str] = set(record.banned)
        self.banned_addresses: set[str] = set(record.banned_addresses)
        # Raised hands of people whose connection dropped, by identity, for their return.
        self.dropped_requests: dict[str, tuple[float, bool]] = {}
        self._on_record = on_record or (lambda: None)
        self._public_changed = False  # the next state must reach everyone
        self._welcome: set[str] = set()  # joined since the last state went out
        self._counts: asyncio.TimerHandle | None = None
        self._counts_at = 0.0
        self.reactions = TokenBucket(ROOM_REACTION_BURST, ROOM_REACTION_RATE)
        self._on_change = on_change
        self._on_abandoned = on_abandoned
        self._announce: asyncio.TimerHandle | None = None
        self._host_timer: asyncio.TimerHandle | None = None
        self._told_away = False  # participants were told the host is gone
        # Live captions while the room is live (rooms.recording.start_media).
        self.captions: CaptionFeed | None = None
        self.mixer.on_levels = self._send_levels
        self.on_failed: Callable[[Room], None] | None = None
        self.mixer.on_died = self._mixer_died
        self.mixer.start()
        self.host_check()

    def _mixer_died(self, error: BaseException | None) -> None:
        # The mixing clock survives a bad frame; if it dies anyway the room is silent
        # for good, so it must end (and be announced) rather than look live.
        if self.record.state == ENDED:
            return
        log.error("room %s: the mixer stopped (%r); ending", self.record.id, error)
        if self.on_failed is not None:
            self.on_failed(self)

    def remember_role(self, identity: str, role: str) -> None:
        """Keep `identity`'s talking role for their return (a listener is forgotten)."""
        if role in ("speaker", "cohost"):
            self.granted[identity] = role
        else:
            self.granted.pop(identity, None)
        self._on_record()

    def ban(self, peer: Peer) -> None:
        """Keep `peer` (their identity and, for guests too, their address) out for good."""
        self.banned_identities.add(peer.identity)
        if peer.address:
            # Without this a removed person could come straight back without a token.
            self.banned_addresses.add(peer.address)
        self.record.banned = sorted(self.banned_identities)
        self.record.banned_addresses = sorted(self.banned_addresses)
        self.granted.pop(peer.identity, None)
        self._on_record()

    def replace(self, peer: Peer) -> None:
        """Close other connections of `peer`'s identity quietly, carrying a raised hand over."""
        for other in [p for p in self.peers.values() if p.identity == peer.identity]:
            if other.requested_at is not None and peer.requested_at is None:
                peer.requested_at, peer.invited = other.requested_at, other.invited
            # Dropped from the room at once, so nobody sees them leave and come back.
            del self.peers[other.id]
            asyncio.ensure_future(self._close_peer(other, CLOSE_REPLACED))
        asked = self.dropped_requests.pop(peer.identity, None)
        if asked is not None and peer.requested_at is None and not peer.talks:
            peer.requested_at, peer.invited = asked

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
                asyncio.ensure_future(self.remove(other, reason="replaced", code=CLOSE_REPLACED))
            peer.muted = True  # a host always starts muted
        self.peers[peer.id] = peer
        self._welcome.add(peer.id)
        self.host_check()
        self.changed(audience_only=peer.role == "listener")

    async def negotiate(self, peer: Peer, offer_sdp: str) -> str:
        """Accept the participant's offer (first or a renegotiation); return the answer."""
        first = peer.media is None
        if first:
            peer.media = PeerMedia(self.mixer, peer.id, self.ice)
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
        if peer.requested_at is not None and code is None:
            self.dropped_requests[peer.identity] = (peer.requested_at, peer.invited)
        if self.captions is not None:
            self.captions.unsubscribe(peer)
        await self._close_peer(peer, code)
        self.host_check()
        self.changed(audience_only=peer.role == "listener")

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

    def _stop_timers(self) -> None:
        for timer in (self._announce, self._host_timer, self._counts):
            if timer is not None:
                timer.cancel()
        self._announce = self._host_timer = self._counts = None
        self.mixer.on_levels = None

    async def close(self, code: int = CLOSE_RESTART) -> None:
        """Disconnect everyone with `code` and stop the mixer; the room stays live.

        The server is stopping: its clients reconnect to the next one, which resumes
        the room from its record.
        """
        self._stop_timers()
        peers = list(self.peers.values())
        self.peers.clear()
        await asyncio.gather(*(self._close_peer(p, code) for p in peers))
        await self.mixer.close()

    async def end(self) -> None:
        """Tell every participant the room ended, disconnect them all, stop the mixer."""
        self._stop_timers()
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
        await asyncio.gather(*(quietly(p.send(final)) for p in peers))
        await asyncio.gather(*(quietly(p.send({"type": "ended"})) for p in peers))
        await asyncio.gather(*(self._close_peer(p) for p in peers))
        await self.mixer.close()
