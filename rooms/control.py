"""Room controls: asking to speak, approving, roles, mutes, removals and reactions.

Every function checks that `actor` may act (raising RoomError with a protocol error
code if not), changes the room, and tells the people concerned.
"""

from __future__ import annotations

from typing import Any

from rooms.room import Peer, Room, RoomError, now

CLOSE_REMOVED = 4001


def _moderator(actor: Peer, action: str) -> None:
    if not actor.moderates:
        raise RoomError("forbidden", f"only the host and co-hosts can {action}")


def _outranks(actor: Peer, target: Peer, action: str) -> None:
    """Refuse acting on the host, or a co-host acting on another co-host."""
    if target.role == "host" or (target.role == "cohost" and actor.role != "host"):
        raise RoomError("forbidden", f"you cannot {action} the {target.role}")


def _need_room_to_talk(room: Room) -> None:
    if room.talker_count >= room.max_talkers:
        raise RoomError(
            "full",
            f"this space already has {room.max_talkers} people who can talk; "
            "move a speaker back to listener first",
        )


def request_speak(room: Room, actor: Peer, *, invited: bool) -> None:
    """Raise the listener's hand; the host and co-hosts see it in their guests panel."""
    if actor.talks:
        raise RoomError("already_speaker", "you can already talk in this space")
    actor.requested_at = actor.requested_at or now()
    actor.invited = actor.invited or invited
    room.tell(actor, actor.you())
    room.changed(audience_only=True)


def cancel_request(room: Room, actor: Peer) -> None:
    """Lower the listener's hand."""
    actor.requested_at = None
    room.tell(actor, actor.you())
    room.changed(audience_only=True)


def approve(room: Room, actor: Peer, target: Peer) -> None:
    """Let a listener who asked to speak talk; they renegotiate to start sending."""
    _moderator(actor, "approve requests to speak")
    if target.talks:
        raise RoomError("already_speaker", f"{target.name} can already talk")
    if target.requested_at is None:
        raise RoomError("no_request", f"{target.name} has not asked to speak")
    set_role(room, actor, target, "speaker")


def decline(room: Room, actor: Peer, target: Peer) -> None:
    """Turn down a request to speak; the listener keeps listening."""
    _moderator(actor, "decline requests to speak")
    if target.requested_at is None:
        raise RoomError("no_request", f"{target.name} has not asked to speak")
    target.requested_at = None
    target.invited = False
    room.tell(target, target.you())
    room.tell(
        target,
        {
            "type": "notice",
            "code": "declined",
            "message": "Your request to speak was declined. You can keep listening.",
        },
    )
    room.changed(audience_only=True)


def set_role(room: Room, actor: Peer, target: Peer, role: str) -> None:
    """Move a participant between listener, speaker and co-host."""
    stepping_down = actor is target and role == "listener" and target.role != "host"
    if not stepping_down:
        _moderator(actor, "change roles")
        _outranks(actor, target, "change the role of")
    if role == target.role:
        return
    if role != "listener" and not target.talks:
        _need_room_to_talk(room)
    if role == "cohost":
        cohosts = sum(1 for p in room.peers.values() if p.role == "cohost")
        if cohosts >= room.max_cohosts:
            raise RoomError("full", f"a space has at most {room.max_cohosts} co-hosts")
        if not target.talks:
            raise RoomError("not_speaker", "only a speaker can be made co-host; approve them first")
    was_listener = not target.talks
    target.role = role
    target.requested_at = None
    if role == "listener":
        target.muted = False
    room.remember_role(target.identity, role)
    if was_listener and role != "listener":
        # Like the host, a new speaker starts muted and unmutes when ready: nobody is put
        # on air by someone else's click.
        target.muted = True
    room.apply_media(target)
    room.tell(target, target.you())
    if actor is not target:
        room.tell(target, {"type": "notice", "code": f"now_{role}", "message": _role_note(role)})
    room.changed()


def _role_note(role: str) -> str:
    return {
        "speaker": "You can speak now. Unmute your microphone when you are ready.",
        "cohost": "You are now a co-host: you can approve, mute and remove people.",
        "listener": "You were moved back to listener; the room no longer hears you.",
    }[role]


def mute(room: Room, actor: Peer, target: Peer, muted: bool) -> None:
    """Mute or unmute oneself, or (host and co-hosts) mute someone else."""
    if target is not actor:
        _moderator(actor, "mute other people")
        _outranks(actor, target, "mute")
        if not muted:
            raise RoomError("forbidden", "only speakers can unmute themselves")
    if not target.talks:
        raise RoomError("not_speaker", "listeners have no microphone in the room to mute")
    target.muted = muted
    room.apply_media(target)
    room.tell(target, target.you())
    if target is not actor:
        room.tell(
            target,
            {
                "type": "notice",
                "code": "muted",
                "message": f"{actor.name} muted you. Unmute when you want to talk.",
            },
        )
    room.changed()


async def remove(room: Room, actor: Peer, target: Peer) -> None:
    """Remove a participant for good: they cannot rejoin this space."""
    _moderator(actor, "remove people")
    if target is actor:
        raise RoomError("forbidden", "leave the space instead of removing yourself")
    _outranks(actor, target, "remove")
    room.ban(target)
    await _quiet_send(target, {"type": "removed", "message": "A host removed you from this space."})
    await room.remove(target, reason="removed by " + actor.id, code=CLOSE_REMOVED)


async def _quiet_send(peer: Peer, message: dict[str, Any]) -> None:
    try:
        await peer.send(message)
    except Exception:  # noqa: BLE001 - a socket already gone cannot be told
        return


def react(room: Room, actor: Peer, emoji: str) -> None:
    """Show `emoji` on the sender's avatar for everyone, within the rate limits."""
    if not actor.reactions.take():
        raise RoomError(
            "rate_limited",
            f"too many reactions; wait {actor.reactions.wait_s():.0f} s before the next",
        )
    if not room.reactions.take():
        raise RoomError("rate_limited", "the room is busy with reactions; try again shortly")
    room.broadcast({"type": "reaction", "peer_id": actor.id, "name": actor.name, "emoji": emoji})
