"""Decide who a joining connection is and in which role: tokens, resume tokens, the record.

The room's record keeps roles per identity (rooms.store.RoomRecord.roles), so someone
who comes back, with a resume token or after an approval, finds the role they had.
"""

from __future__ import annotations

import logging

from rooms.peer import Peer, RoomError
from rooms.store import RoomRecord
from rooms.tokens import Claims, Resume, TokenError, verify_resume

log = logging.getLogger(__name__)


def resume_from(secret: str, token: str, room_id: str, claims: Claims | None) -> Resume | None:
    """Return who a valid resume token for `room_id` names, or None (an ordinary join).

    A token naming someone else than the access token (`claims`) does is ignored.
    """
    if not token:
        return None
    try:
        resume = verify_resume(secret, token, room_id)
    except TokenError as exc:
        log.info("room %s: resume token ignored (%s)", room_id, exc)
        return None
    if claims is not None and claims.identity != resume.identity:
        return None  # someone else's token: the access token says who this is
    return resume


def who_from(claims: Claims | None, room_id: str) -> Resume:
    """Return who an access token (or its absence: a new guest) says is joining."""
    if claims is None:
        return Resume(room=room_id, identity="", name="", guest=True)
    return Resume(
        room=room_id,
        identity=claims.identity,
        name=claims.name,
        # Without a handle claim a token holder is shown by identity, as before.
        handle=claims.handle or claims.identity,
        profile=claims.profile,
    )


def resume_of(peer: Peer, room_id: str) -> Resume:
    """Return what `peer`'s resume token must say to give them their place back."""
    return Resume(
        room=room_id,
        identity=peer.identity,
        name=peer.name,
        handle=peer.handle,
        profile=peer.profile,
        guest=peer.guest,
        host=peer.role == "host",
    )


def role_for(asked: str, record: RoomRecord, claims: Claims | None, resume: Resume | None) -> str:
    """Return the role a join gets, or raise RoomError (`forbidden`) saying why not."""
    may_host = claims is not None and claims.allows("host")
    if asked == "host" or (resume is not None and resume.host):
        if may_host and claims is not None and claims.identity == record.host_identity:
            return "host"
        if resume is not None and resume.host and resume.identity == record.host_identity:
            return "host"
        if asked == "host" and not may_host:
            raise RoomError("forbidden", "your token does not allow joining as host")
        if asked == "host":
            raise RoomError("forbidden", "only the space's own host can join as host")
    if resume is not None:
        # The room's record says what they were: a listener stays one.
        return record.roles.get(resume.identity, "listener")
    if asked == "listener":
        return "listener"
    granted = record.roles.get(claims.identity) if claims else None
    if granted:
        return granted  # approved earlier in this space, back after a drop
    if claims is None or not claims.allows("speak"):
        raise RoomError(
            "forbidden",
            "your token does not allow joining as speaker; join as listener and request to speak",
        )
    return "speaker"
