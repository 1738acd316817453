"""Public handles: what a person is called on the portal, chosen once and changeable."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.models import User

MIN_HANDLE = 3
MAX_HANDLE = 30
_HANDLE = re.compile(rf"^[a-z0-9_]{{{MIN_HANDLE},{MAX_HANDLE}}}$")
#: Words that name the site's own pages and roles, so nobody can pass for them.
RESERVED = frozenset(
    {
        "about", "account", "admin", "administrator", "api", "app", "badge", "calendar",
        "feeds", "help", "host", "hosts", "login", "logout", "me", "moderator", "null",
        "oembed", "official", "portal", "root", "rooms", "search", "settings", "signin",
        "signout", "signup", "spaces", "staff", "static", "support", "system", "topics",
        "undefined", "www",
    }
)  # fmt: skip


class HandleError(ValueError):
    """A handle that cannot be used; the message says what to choose instead."""


def check_handle(text: str) -> str:
    """Return the handle as stored (lowercased, no leading @), or raise HandleError."""
    handle = text.strip().lstrip("@").lower()
    if not handle:
        raise HandleError("Choose a handle: the name people see, like ann_lee.")
    if not _HANDLE.match(handle):
        raise HandleError(
            f"Use {MIN_HANDLE} to {MAX_HANDLE} characters: letters a-z, digits and _ only."
        )
    if handle in RESERVED:
        raise HandleError(f"@{handle} is reserved for the site. Choose another handle.")
    return handle


def suggest_handle(*texts: str) -> str:
    """Return a handle made of the first of `texts` that gives one (not checked for use).

    A name too short for a handle ("Jo") is lengthened, if no other text gives one.
    """
    short = ""
    for text in texts:
        base = re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]+", "_", text.lower())).strip("_")
        base = base[: MAX_HANDLE - 4].rstrip("_")
        if len(base) >= MIN_HANDLE and base not in RESERVED:
            return base
        short = short or (base if len(base) < MIN_HANDLE else "")
    return f"{short}_user" if short else "listener"


def handle_taken(session: Session, handle: str, *, by_other_than: int | None = None) -> bool:
    """Say whether an account (other than `by_other_than`) has this handle."""
    query = select(func.count(User.id)).where(func.lower(User.handle) == handle.lower())
    if by_other_than is not None:
        query = query.where(User.id != by_other_than)
    return bool(session.scalar(query))


def free_handle(session: Session, base: str) -> str:
    """Return `base`, or `base_2`, `base_3`... whichever no account has yet."""
    handle, n = base, 1
    while handle_taken(session, handle):
        n += 1
        handle = f"{base[: MAX_HANDLE - len(str(n)) - 1]}_{n}"
    return handle
