"""Mint the access tokens a room server trusts, as docs/rooms-protocol.md specifies them.

A token is a JWT (HS256) signed with the secret the portal and the room servers share;
its claims are `sub`, `name`, `grants`, `room`, `protected`, `aud` ("spaces-rooms"),
`iat` and `exp`. The room server checks them (rooms.tokens); this is the portal's and
the command's side of the same contract.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import jwt

GRANTS = ("host", "speak", "listen")
AUDIENCE = "spaces-rooms"


def mint_room_token(
    secret: str,
    identity: str,
    *,
    name: str = "",
    grants: Iterable[str] = ("listen",),
    room: str = "*",
    ttl: int = 3600,
    protected: bool = False,
) -> str:
    """Return a signed token for `identity` with `grants` on `room` ("*": any room)."""
    chosen = sorted(set(grants))
    if not chosen or any(grant not in GRANTS for grant in chosen):
        raise ValueError(f"grants must be some of {list(GRANTS)}, not {chosen}")
    if protected and "host" in chosen:
        raise ValueError("a protected account cannot be given the host grant")
    if not identity or not secret or ttl <= 0:
        raise ValueError("a token needs an identity, a signing secret and a positive ttl")
    now = int(time.time())
    claims = {
        "sub": identity,
        "name": name or identity,
        "grants": chosen,
        "room": room,
        "protected": protected,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
