"""Issue and check the signed access tokens the room server trusts (JWT, HS256)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jwt

GRANTS = ("host", "speak", "listen")
# A grant includes every grant after it: a host may speak and listen, a speaker listen.
_RANK = {grant: rank for rank, grant in enumerate(GRANTS)}
_ALGORITHM = "HS256"
_AUDIENCE = "spaces-rooms"
# The person's public handle and profile page on the portal: shown, never trusted for
# permissions (those follow `sub`), and ignored when they do not look right.
HANDLE_RE = re.compile(r"[a-z0-9_]{1,30}")
MAX_PROFILE_CHARS = 300
# No user@ part in the address: "https://portal@evil.example" must not pass for the portal.
_PROFILE_RE = re.compile(r"https?://[^\s/?#@]+(?:[/?#]\S*)?", re.IGNORECASE)


class TokenError(Exception):
    """A token was missing, forged, expired, for another room, or lacked a grant."""


@dataclass(frozen=True)
class Claims:
    """What a verified token says about its bearer."""

    identity: str
    name: str
    grants: frozenset[str]
    room: str
    expires_at: int
    protected: bool = False
    handle: str = ""  # "" when the token has none (or a malformed one)
    profile: str = ""

    def allows(self, need: str) -> bool:
        """Return True if one of the grants covers `need` (host > speak > listen)."""
        return any(_RANK[grant] <= _RANK[need] for grant in self.grants)


def issue_token(
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

    `handle` and `profile` (the person's portal handle and profile URL) are written
    only when given; the server ignores values that do not look right.
    """
    grant_set = sorted(set(grants))
    unknown = [grant for grant in grant_set if grant not in _RANK]
    if unknown:
        raise ValueError(f"unknown grant(s) {unknown}; use some of {list(GRANTS)}")
    if not grant_set:
        raise ValueError("a token needs at least one grant (host, speak or listen)")
    if protected and "host" in grant_set:
        raise ValueError("a protected account cannot be given the host grant")
    if not identity or not secret:
        raise ValueError("a token needs a non-empty identity and signing secret")
    if ttl <= 0:
        raise ValueError("ttl must be a positive number of seconds")
    now = int(time.time())
    payload: dict[str, Any] = {
        "sub": identity,
        "name": name or identity,
        "grants": grant_set,
        "room": room,
        "protected": bool(protected),
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + int(ttl),
    }
    if handle:
        payload["handle"] = handle
    if profile:
        payload["profile"] = profile
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def verify_token(
    secret: str, token: str, *, room_id: str | None = None, need: str = "listen"
) -> Claims:
    """Check `token` and return its claims, or raise TokenError saying what is wrong."""
    if need not in _RANK:
        raise ValueError(f"unknown grant {need!r}; use one of {list(GRANTS)}")
    if not token:
        raise TokenError("no access token was given; ask the host or the portal for one")
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_AUDIENCE,
            options={"require": ["exp", "sub", "aud"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the access token has expired; get a fresh one") from exc
    except jwt.InvalidSignatureError as exc:
        raise TokenError("the access token's signature is not valid") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"the access token is not valid ({exc})") from exc
    claims = _claims(payload)
    if room_id is not None and claims.room not in ("*", room_id):
        raise TokenError(f"the access token is for room {claims.room!r}, not {room_id!r}")
    if claims.protected and "host" in claims.grants:
        raise TokenError("a protected account cannot host; the token is refused")
    if not claims.allows(need):
        raise TokenError(f"the access token does not grant {need!r}")
    return claims


def _claims(payload: dict[str, Any]) -> Claims:
    grants = payload.get("grants")
    if not isinstance(grants, list) or not all(isinstance(g, str) for g in grants):
        raise TokenError("the access token has no valid grants list")
    known = frozenset(g for g in grants if g in _RANK)
    room = payload.get("room", "*")
    if not isinstance(room, str) or not isinstance(payload.get("sub"), str):
        raise TokenError("the access token has a malformed room or identity")
    name = payload.get("name")
    return Claims(
        identity=payload["sub"],
        name=name if isinstance(name, str) else payload["sub"],
        grants=known,
        room=room,
        expires_at=int(payload["exp"]),
        protected=payload.get("protected") is True,
        handle=clean_handle(payload.get("handle")),
        profile=clean_profile(payload.get("profile")),
    )


def clean_handle(value: Any) -> str:
    """Return `value` if it is a valid public handle (1-30 of a-z, 0-9, _), else ""."""
    return value if isinstance(value, str) and HANDLE_RE.fullmatch(value) else ""


def clean_profile(value: Any) -> str:
    """Return `value` if it is an http(s) URL of at most 300 characters, else ""."""
    if not isinstance(value, str) or len(value) > MAX_PROFILE_CHARS:
        return ""
    if not value.isprintable() or not _PROFILE_RE.fullmatch(value):
        return ""
    return value


_INVITE_AUDIENCE = "spaces-invite"


def issue_invite(secret: str, room_id: str, *, by: str, ttl: int = 24 * 3600) -> str:
    """Return a signed invite to speak in `room_id`, issued by the host or co-host `by`."""
    if not room_id or not secret:
        raise ValueError("an invite needs a room id and a signing secret")
    now = int(time.time())
    payload = {"room": room_id, "by": by, "aud": _INVITE_AUDIENCE, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def verify_invite(secret: str, invite: str, room_id: str) -> str:
    """Return who issued a valid invite for `room_id`, or raise TokenError saying why."""
    try:
        payload = jwt.decode(
            invite,
            secret,
            algorithms=[_ALGORITHM],
            audience=_INVITE_AUDIENCE,
            options={"require": ["exp", "aud", "room"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the invite has expired; ask the host for a new link") from exc
    except jwt.PyJWTError as exc:
        raise TokenError("the invite is not valid; ask the host for a new link") from exc
    if payload.get("room") != room_id:
        raise TokenError("the invite is for another space")
    by = payload.get("by")
    return by if isinstance(by, str) else ""


_RESUME_AUDIENCE = "spaces-resume"
RESUME_TTL_S = 12 * 3600


@dataclass(frozen=True)
class Resume:
    """Who a resume token says its bearer was in a room, to give them their place back."""

    room: str
    identity: str
    name: str
    handle: str = ""
    profile: str = ""
    guest: bool = False
    host: bool = False  # they had joined as the room's host


def issue_resume(secret: str, who: Resume, *, ttl: int = RESUME_TTL_S) -> str:
    """Return a signed resume token for `who`, valid `ttl` seconds (12 h by default)."""
    if not secret or not who.room or not who.identity:
        raise ValueError("a resume token needs a signing secret, a room and an identity")
    now = int(time.time())
    payload = {
        "aud": _RESUME_AUDIENCE,
        "room": who.room,
        "sub": who.identity,
        "name": who.name,
        "handle": who.handle,
        "profile": who.profile,
        "guest": who.guest,
        "host": who.host,
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(payload, secret, algorithm=_ALGORITHM)


def verify_resume(secret: str, token: str, room_id: str) -> Resume:
    """Return what a valid resume token for `room_id` says, or raise TokenError saying why."""
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=_RESUME_AUDIENCE,
            options={"require": ["exp", "aud", "room", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("the resume token has expired") from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"the resume token is not valid ({exc})") from exc
    if payload.get("room") != room_id:
        raise TokenError("the resume token is for another space")
    identity, name = payload.get("sub"), payload.get("name")
    if not isinstance(identity, str) or not identity or not isinstance(name, str):
        raise TokenError("the resume token has a malformed identity")
    return Resume(
        room=room_id,
        identity=identity,
        name=name,
        handle=clean_handle(payload.get("handle")),
        profile=clean_profile(payload.get("profile")),
        guest=payload.get("guest") is True,
        host=payload.get("host") is True,
    )
