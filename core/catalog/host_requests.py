"""Listeners ask to host; admins approve or refuse, or a setting approves at once.

A decision is logged in the audit log (target "user:<id>") and told to the person as a
"decision" notice, which reaches them on the channel they chose once the change commits.
"""

from __future__ import annotations

from datetime import datetime

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import HostRequest, User
from core.catalog.notifications import notify_person
from core.catalog.users_admin import check_reason, record
from core.timeutil import utcnow

MAX_REASON = 500
MAX_NOTE = 500
#: The admins' setting, in Redis: "1" approves every request as it is made.
AUTO_APPROVE_KEY = "spaces:settings:hosts_auto_approve"
AUTO_APPROVE_TARGET = "setting:hosts_auto_approve"
AT_ONCE = "approved at once by the admins' setting"
#: Where a decision's notice leads: the account page shows the request's outcome.
NOTICE_LINK = "/account/settings"
SUSPENDED = "This account is suspended. Write to the admins if you think this is a mistake."
PROTECTED = (
    "This account is protected: it can join and listen, but never host."
    " Write to the admins if you think this is a mistake."
)


class RequestRefused(ValueError):
    """A request to host that cannot be made or decided; the message says what to do.

    `field` names the form field at fault ("reason", "note"), or is empty.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def auto_approve(client: redis.Redis) -> bool:
    """Say whether the admins' setting approves requests to host at once."""
    return bool(client.get(AUTO_APPROVE_KEY) == b"1")


def set_auto_approve(
    session: Session, client: redis.Redis, actor: User | None, on: bool, reason: str | None
) -> bool:
    """Turn the setting on or off, logged with the reason; return whether it changed."""
    why = check_reason(reason, "every change to a setting")
    was = auto_approve(client)
    if was == on:
        return False
    action = "turn on setting" if on else "turn off setting"
    record(session, actor, action, AUTO_APPROVE_TARGET, why, {"auto": was}, {"auto": on})
    client.set(AUTO_APPROVE_KEY, "1" if on else "0")
    return True


def latest_for(session: Session, user_id: int) -> HostRequest | None:
    """Return the person's newest request to host, if they ever made one."""
    return session.scalar(
        select(HostRequest)
        .where(HostRequest.user_id == user_id)
        .order_by(HostRequest.created_at.desc(), HostRequest.id.desc())
        .limit(1)
    )


def pending(session: Session, limit: int = 50) -> list[tuple[HostRequest, User]]:
    """Return requests waiting for an admin, oldest first, with the people who asked."""
    rows = session.execute(
        select(HostRequest, User)
        .join(User, User.id == HostRequest.user_id)
        .where(HostRequest.status == "pending")
        .order_by(HostRequest.created_at, HostRequest.id)
        .limit(limit)
    )
    return [(request, user) for request, user in rows]


def _may_host(user: User) -> None:
    if user.suspended_at is not None:
        raise RequestRefused(SUSPENDED)
    if user.protected:
        raise RequestRefused(PROTECTED)


def ask(session: Session, user: User, reason: str, *, at_once: bool = False) -> HostRequest:
    """Ask for `user` to host, with their reason; `at_once` (the setting) approves it.

    One request waits at a time. A host, a protected or a suspended account is refused
    with a message saying why.
    """
    _may_host(user)
    if user.is_host:
        raise RequestRefused("You are a host already: open your dashboard to open a room.")
    waiting = latest_for(session, user.id)
    if waiting is not None and waiting.status == "pending":
        raise RequestRefused("You asked already; your request is waiting for an admin.")
    text = " ".join((reason or "").split())
    if not text:
        raise RequestRefused("Say in a few words what you would like to host.", "reason")
    if len(text) > MAX_REASON:
        raise RequestRefused(f"Keep it under {MAX_REASON} characters.", "reason")
    request = HostRequest(user_id=user.id, reason=text, status="pending", created_at=utcnow())
    session.add(request)
    session.flush()
    if at_once:
        _settle(session, request, user, None, True, "", AT_ONCE)
    return request


def decide(
    session: Session, request_id: int, actor: User | None, approve: bool, note: str
) -> HostRequest:
    """Approve or refuse a waiting request; a refusal needs a note for the person.

    Approval makes the account a host. Either way the decision is logged and told.
    """
    request = session.get(HostRequest, request_id)
    if request is None:
        raise RequestRefused(f"there is no request to host numbered {request_id}")
    if request.status != "pending":
        raise RequestRefused(f"request {request_id} was {request.status} already")
    words = " ".join((note or "").split())
    if not approve and not words:
        raise RequestRefused("say why it is refused: the person reads this note", "note")
    if len(words) > MAX_NOTE:
        raise RequestRefused(f"keep the note under {MAX_NOTE} characters", "note")
    user = session.get(User, request.user_id)
    assert user is not None  # requests go with their accounts (ON DELETE CASCADE)
    if approve:
        try:
            _may_host(user)
        except RequestRefused:
            raise RequestRefused(
                "this account is protected or suspended, so it cannot host; refuse the"
                " request with a note instead"
            ) from None
    _settle(session, request, user, actor, approve, words, words or f"asked: “{request.reason}”")
    return request


def _settle(
    session: Session,
    request: HostRequest,
    user: User,
    actor: User | None,
    approve: bool,
    note: str,
    reason: str,
) -> None:
    """Record the decision on the request, the account, the audit log and a notice."""
    now: datetime = utcnow()
    request.status = "approved" if approve else "refused"
    request.decided_at = now
    request.decided_by = actor.id if actor is not None else None
    request.note = note
    before = {"is_host": bool(user.is_host), "status": "pending", "request": request.id}
    if approve:
        user.is_host = True
    after = {"is_host": bool(user.is_host), "status": request.status, "request": request.id}
    if actor is None:
        after["via"] = "setting" if reason == AT_ONCE else "command line"
    action = "approve host request" if approve else "refuse host request"
    record(session, actor, action, f"user:{user.id}", reason, before, after)
    if approve:
        text = "You are a host now: open rooms from your host dashboard."
    else:
        text = f"Your request to host was refused: {note.rstrip('.')}. You may ask again."
    notify_person(
        session, user.id, "decision", text, link=NOTICE_LINK, dedupe=f"host-request:{request.id}"
    )
