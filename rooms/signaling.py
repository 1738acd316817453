"""Serve `/ws/rooms/<id>`: validate every message, then join, negotiate and control rooms.

The protocol is documented in docs/rooms-protocol.md; keep the two in step.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from rooms import control
from rooms.admission import resume_from, resume_of, role_for, who_from
from rooms.hub import HUB, RoomHub
from rooms.protocol import SCHEMAS, BadMessage, TokenBucket, parse_message
from rooms.remote import client_address, trusted_networks
from rooms.room import Peer, Room, RoomError
from rooms.store import ENDED, LIVE, SCHEDULED
from rooms.tokens import (
    Claims,
    Resume,
    TokenError,
    issue_invite,
    issue_resume,
    verify_invite,
    verify_token,
)

__all__ = ["SCHEMAS", "BadMessage", "parse_message", "websocket_handler"]

log = logging.getLogger(__name__)

MAX_ERRORS = 20  # a client that keeps sending garbage is cut off
# Per connection: bursts of 30 messages, 10 a second on average.
MESSAGE_BURST, MESSAGE_RATE = 30, 10.0
INVITE_TTL_S = 24 * 3600
CLOSE_ENDED, CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, CLOSE_ABUSE = 4000, 4003, 4004, 4008
CLOSE_REMOVED = control.CLOSE_REMOVED


class Session:
    """One WebSocket connection: who it is, and which participant it became on joining."""

    def __init__(
        self, hub: RoomHub, room_id: str, ws: web.WebSocketResponse, address: str = ""
    ) -> None:
        self.hub = hub
        self.room_id = room_id
        self.ws = ws
        self.address = address
        self.claims: Claims | None = None
        self.peer: Peer | None = None
        self.room: Room | None = None
        self.errors = 0
        self.bucket = TokenBucket(MESSAGE_BURST, MESSAGE_RATE)

    async def send(self, message: dict[str, Any]) -> None:
        """Send one JSON message unless the socket is already closing."""
        await self.send_text(json.dumps(message))

    async def send_text(self, text: str) -> None:
        """Send one message already encoded as JSON unless the socket is closing."""
        if not self.ws.closed:
            await self.ws.send_str(text)

    async def error(self, code: str, message: str, *, close: int | None = None) -> None:
        """Reply with an error; close the socket with `close` if given."""
        await self.send({"type": "error", "code": code, "message": message})
        if close is not None:
            await self.ws.close(code=close, message=code.encode())

    async def close_socket(self, code: int = 1000) -> None:
        """Close the WebSocket (the room calls this when removing the participant)."""
        await self.ws.close(code=code)

    async def handle(self, message: dict[str, Any]) -> None:
        """Act on one valid message."""
        kind = message["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "join":
            await self.join(message)
            return
        if self.peer is None or self.room is None:
            raise RoomError("not_joined", f"send 'join' before '{kind}'")
        await getattr(self, "on_" + kind)(self.room, self.peer, message)

    async def join(self, message: dict[str, Any]) -> None:
        """Admit this connection to the room in the role asked for, if allowed.

        With a valid resume token the person comes back as who they were, in the role
        the room has on record for them (talkers muted), replacing their old connection.
        """
        if self.peer is not None:
            raise RoomError("already_joined", "this connection has already joined")
        record = self.hub.store.get(self.room_id)
        if record is None or record.state == ENDED:
            await self.send({"type": "ended"})
            await self.ws.close(code=CLOSE_ENDED, message=b"ended")
            return
        secret, claims = self.hub.config.secret, self.claims
        resume = resume_from(secret, message.get("resume", ""), self.room_id, claims)
        who = resume or who_from(claims, self.room_id)
        room = self.hub.live.get(record.id)
        if room is not None and room.is_banned(who.identity, self.address, guest=who.guest):
            await self.error(
                "removed",
                "you were removed from this space and cannot rejoin it",
                close=CLOSE_REMOVED,
            )
            return
        role = role_for(message.get("role", "listener"), record, claims, resume)
        if record.state == SCHEDULED and role != "host":
            raise RoomError("not_live", "this space has not started yet; try again when it is live")
        room = self.hub.room_for(record)
        peer = self._peer(role, who, message.get("name", ""))
        if resume is not None:
            peer.muted = peer.talks  # back on stage muted: they unmute when ready
            room.replace(peer)
        room.add(peer)
        self.peer, self.room = peer, room
        if role in ("speaker", "cohost"):
            room.remember_role(peer.identity, role)
        if role == "host" and self.claims is not None:
            self.hub.update_host(record, self.claims.name, self.claims.handle, self.claims.profile)
        if role == "host" and message.get("start", True) and record.state != LIVE:
            self.hub.start(record)
        await self.send(self._joined(peer, resumed=resume is not None))
        if resume is not None:
            self.hub.reconnects += 1
        room.changed(audience_only=peer.role == "listener")

    def _peer(self, role: str, who: Resume, asked_name: str) -> Peer:
        peer = Peer(
            role=role,
            identity=who.identity,
            name=who.name,
            send=self.send,
            send_text=self.send_text,
            close_socket=self.close_socket,
            guest=who.guest,
            address=self.address,
            handle="" if who.guest else who.handle,
            profile="" if who.guest else who.profile,
        )
        if not peer.identity:  # a new guest: an identity for this stay, and a name
            peer.identity = "guest-" + peer.id
            peer.name = asked_name.strip() or f"Guest {peer.id[1:]}"
        return peer

    def _joined(self, peer: Peer, *, resumed: bool) -> dict[str, Any]:
        assert self.room is not None
        return {
            "type": "joined",
            "peer_id": peer.id,
            "role": peer.role,
            "muted": peer.muted,
            "room": self.hub.status(self.room.record),
            "resume": issue_resume(self.hub.config.secret, resume_of(peer, self.room_id)),
            "resumed": resumed,
        }

    # -- one method per message type (after join) ---------------------------------

    async def on_offer(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        answer = await room.negotiate(peer, message["sdp"])
        await self.send({"type": "answer", "sdp": answer})

    async def on_leave(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        peer.requested_at = None  # leaving on purpose lowers the hand for good
        await self.ws.close()

    async def on_end(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        if peer.role != "host":
            raise RoomError("forbidden", "only the host can end the space")
        await self.hub.end(room.record)

    async def on_start(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        if peer.role != "host":
            raise RoomError("forbidden", "only the host can start the space")
        self.hub.start(room.record)

    async def on_request_speak(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        invite = message.get("invite")
        if invite:
            try:
                verify_invite(self.hub.config.secret, invite, room.record.id)
            except TokenError as exc:
                raise RoomError("bad_invite", str(exc)) from exc
        control.request_speak(room, peer, invited=bool(invite))

    async def on_cancel_request(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        control.cancel_request(room, peer)

    async def on_approve(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        control.approve(room, peer, room.find(message["peer_id"]))

    async def on_decline(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        control.decline(room, peer, room.find(message["peer_id"]))

    async def on_set_role(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        control.set_role(room, peer, room.find(message["peer_id"]), message["role"])

    async def on_mute(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        target = room.find(message["peer_id"]) if "peer_id" in message else peer
        control.mute(room, peer, target, message["muted"])

    async def on_remove(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        await control.remove(room, peer, room.find(message["peer_id"]))

    async def on_react(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        control.react(room, peer, message["emoji"])

    async def on_captions(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        feed = getattr(room, "captions", None)
        if feed is None or not feed.enabled:
            raise RoomError(
                "captions_unavailable",
                "live captions are not available in this space; the audio is unaffected",
            )
        if message["on"]:
            feed.subscribe(peer)
        else:
            feed.unsubscribe(peer)
        await self.send({"type": "captions", "on": message["on"]})

    async def on_invite(self, room: Room, peer: Peer, message: dict[str, Any]) -> None:
        if not peer.moderates:
            raise RoomError("forbidden", "only the host and co-hosts can invite speakers")
        invite = issue_invite(
            self.hub.config.secret, room.record.id, by=peer.identity, ttl=INVITE_TTL_S
        )
        url = f"{self.hub.share_url(room.record.id)}?invite={invite}"
        await self.send(
            {"type": "invite", "invite": invite, "url": url, "expires_in": INVITE_TTL_S}
        )


async def websocket_handler(request: web.Request) -> web.StreamResponse:
    """Upgrade to a WebSocket and run one session until it closes."""
    hub: RoomHub = request.app[HUB]
    room_id = request.match_info["room_id"]
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=4 * 64 * 1024)
    await ws.prepare(request)
    trusted = trusted_networks(hub.config.trusted_proxies)
    session = Session(hub, room_id, ws, client_address(request, trusted))
    record = hub.store.get(room_id)
    if record is None:
        await session.error("not_found", f"no room {room_id!r} here", close=CLOSE_NOT_FOUND)
        return ws
    token = request.query.get("token", "")
    if token:
        try:
            session.claims = verify_token(hub.config.secret, token, room_id=room_id)
        except TokenError as exc:
            await session.error("bad_token", str(exc), close=CLOSE_FORBIDDEN)
            return ws
    await session.send({"type": "hello", "room": hub.status(record)})
    try:
        await _serve(session)
    finally:
        if session.room is not None and session.peer is not None:
            await session.room.remove(session.peer)
    return ws


async def _serve(session: Session) -> None:
    async for msg in session.ws:
        if msg.type != WSMsgType.TEXT:
            if msg.type == WSMsgType.BINARY:
                await _complain(session, "bad_message", "send JSON text messages, not binary")
            continue
        if not session.bucket.take():
            await _complain(
                session, "rate_limited", "too many messages; slow down (at most 10 a second)"
            )
            continue
        try:
            await session.handle(parse_message(msg.data))
        except BadMessage as exc:
            await _complain(session, "bad_message", str(exc))
        except RoomError as exc:
            await _complain(session, exc.code, exc.message, counts=exc.code != "rate_limited")
        except Exception:
            log.exception("room %s: failed to handle a message", session.room_id)
            await _complain(session, "server_error", "the server failed; please try again")
        if session.ws.closed:
            break


async def _complain(session: Session, code: str, message: str, *, counts: bool = True) -> None:
    session.errors += counts
    if session.errors >= MAX_ERRORS:
        await session.error(code, "too many bad messages; closing", close=CLOSE_ABUSE)
    else:
        await session.error(code, message)
