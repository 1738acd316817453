"""Mint the access tokens a room server trusts, as docs/rooms-protocol.md specifies them.

A token is a JWT (HS256) signed with the secret the portal and the room servers share;
its claims are `sub`, `name`, `grants`, `room`, `protected`, `aud` ("spaces-rooms"),
`iat` and `exp`, and when known `handle` and `profile`. The room server checks them
(rooms.tokens); this is the portal's and the command's side of the same contract.

- `sub`: the stable identity the room server knows a person by (the portal's
  "user-<id>"); permissions such as being a room's host follow it.
- `name`: the display name people see in the room.
- `handle`: the person's public handle on the portal, 1-30 of `[a-z0-9_]`; the room
  server shows it (a host's rooms report it as `host.handle`). Left out when empty.
- `profile`: the http(s) URL of the person's profile on the portal, at most 300
  characters; left out when empty.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable

import jwt

GRANTS = ("host", "speak", "listen")
AUDIENCE = "spaces-rooms"
MAX_PROFILE = 300
_HANDLE = re.compile(r"[a-z0-9_]{1,30}")


def mint_room_token(
    secret: str,
    identity: str,
    *,
    name: str = "",
    grants: Iterable[str] = ("listen",),
    room: str = "*",
    ttl: int = 3600,
    protected: bool = False,
    handle: str = "",
    profile: str = "",
) -> str:
    """Return a signed token for `identity` with `grants` on `room` ("*": any room).

    `handle` and `profile` say who the person is publicly; each is written as a claim
    only when given, and must be what the room server accepts.
    """
    chosen = sorted(set(grants))
    if not chosen or any(grant not in GRANTS for grant in chosen):
        raise ValueError(f"grants must be some of {list(GRANTS)}, not {chosen}")
    if protected and "host" in chosen:
        raise ValueError("a protected account cannot be given the host grant")
    if not identity or not secret or ttl <= 0:
        raise ValueError("a token needs an identity, a signing secret and a positive ttl")
    if handle and not _HANDLE.fullmatch(handle):
        raise ValueError(f"a handle is 1-30 of a-z, 0-9 and _, not {handle!r}")
    if profile and (not profile.startswith(("http://", "https://")) or len(profile) > MAX_PROFILE):
        raise ValueError(f"a profile is an http(s) URL of at most {MAX_PROFILE} characters")
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": identity,
        "name": name or identity,
        "grants": chosen,
        "room": room,
        "protected": protected,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + ttl,
    }
    if handle:
        claims["handle"] = handle
    if profile:
        claims["profile"] = profile
    return jwt.encode(claims, secret, algorithm="HS256")
