"""Signed-in sessions held in the catalog: start, find, touch, end, list and prune them.

A session is known by a random token that only the browser's cookie carries; the
catalog keeps its SHA-256 (`AuthSession.id`), so reading this table signs nobody in.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, or_, select
from sqlalchemy.orm import Session

from core.catalog.models import AuthSession

#: How stale `last_seen_at` may get before a request writes it again: a write on every
#: request would cost more than knowing the minute someone was last seen is worth.
TOUCH_EVERY_S = 60
_TOKEN_BYTES = 32
_HASH = re.compile(r"^[0-9a-f]{64}$")


def hash_token(token: str) -> str:
    """Return the id under which the session of `token` is kept."""
    return hashlib.sha256(token.encode()).hexdigest()


def _id_of(token_or_id: str) -> str:
    # Tokens are URL-safe base64 of 32 bytes (43 characters), never 64 hex digits.
    return token_or_id if _HASH.match(token_or_id) else hash_token(token_or_id)


def _deleted(db: Session, query: Delete) -> int:
    """Run a DELETE and return how many rows it removed (a DML result is a CursorResult)."""
    result = db.execute(query)
    return int(cast("CursorResult[*tuple[Any, ...]]", result).rowcount or 0)


def start(db: Session, user_id: int, *, user_agent: str, address: str, now: datetime) -> str:
    """Start a session for `user_id`; return its raw token (to put in the cookie only)."""
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    db.add(
        AuthSession(
            id=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            user_agent=user_agent[:300],
            address=address[:64],
        )
    )
    db.flush()
    return token


def is_active(row: AuthSession, now: datetime, idle_s: int, max_s: int) -> bool:
    """Say whether `row` is still within its idle and absolute lifetimes at `now`."""
    return now - row.last_seen_at <= timedelta(
        seconds=idle_s
    ) and now - row.created_at <= timedelta(seconds=max_s)


def find(db: Session, token: str, now: datetime, idle_s: int, max_s: int) -> AuthSession | None:
    """Return the live session of `token`, or None if it ended, idled out or grew too old."""
    row = db.get(AuthSession, hash_token(token))
    if row is None or not is_active(row, now, idle_s, max_s):
        return None
    return row


def touch(db: Session, row: AuthSession, now: datetime, *, address: str | None = None) -> bool:
    """Record that `row` was used at `now`, at most once a minute; say whether it wrote."""
    if now - row.last_seen_at < timedelta(seconds=TOUCH_EVERY_S):
        return False
    row.last_seen_at = now
    if address:
        row.address = address[:64]
    return True


def end(db: Session, token_or_id: str) -> bool:
    """End one session, named by its raw token or its id; say whether there was one."""
    return _deleted(db, delete(AuthSession).where(AuthSession.id == _id_of(token_or_id))) > 0


def end_all(db: Session, user_id: int, keep: str | None = None) -> int:
    """End every session of `user_id` but `keep` (a raw token or an id); return how many."""
    query = delete(AuthSession).where(AuthSession.user_id == user_id)
    if keep:
        query = query.where(AuthSession.id != _id_of(keep))
    return _deleted(db, query)


def list_for(
    db: Session,
    user_id: int,
    *,
    now: datetime | None = None,
    idle_s: int | None = None,
    max_s: int | None = None,
) -> list[AuthSession]:
    """Return the sessions of `user_id`, most recently used first.

    Given `now` and both lifetimes, only the sessions still active are returned.
    """
    query = select(AuthSession).where(AuthSession.user_id == user_id)
    if now is not None and idle_s is not None and max_s is not None:
        query = query.where(
            AuthSession.last_seen_at >= now - timedelta(seconds=idle_s),
            AuthSession.created_at >= now - timedelta(seconds=max_s),
        )
    return list(db.scalars(query.order_by(AuthSession.last_seen_at.desc(), AuthSession.id)))


def prune(db: Session, now: datetime, idle_s: int, max_s: int) -> int:
    """Delete the sessions that idled out or outlived the absolute lifetime; return how many."""
    query = delete(AuthSession).where(
        or_(
            AuthSession.last_seen_at < now - timedelta(seconds=idle_s),
            AuthSession.created_at < now - timedelta(seconds=max_s),
        )
    )
    return _deleted(db, query)
