"""People, for admins: find accounts, change their roles with a reason, decide host requests."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.host_requests import (
    RequestRefused,
    decide,
    latest_for,
    set_auto_approve,
)
from core.catalog.models import User
from core.catalog.users_admin import RoleError, set_roles
from portal.accounts import admin_required, current_user
from portal.admin import audit, sentences
from portal.admin.confirm import Caution
from portal.admin.state import ActionError
from portal.admin.views import _ask, _next, _refused, admin
from portal.context import current_services

PER_PAGE = 50
#: action: (role, value) as set_roles takes them.
CHANGES: dict[str, tuple[str, bool]] = {
    "grant host": ("host", True),
    "take host": ("host", False),
    "grant admin": ("admin", True),
    "take admin": ("admin", False),
    "protect account": ("protected", True),
    "unprotect account": ("protected", False),
    "suspend account": ("suspended", True),
    "restore account": ("suspended", False),
}
#: Changes that take something away at once: asked about first, as other admin actions.
_CAUTIONS: dict[str, tuple[str, str, str]] = {
    "take host": (
        "Take hosting away from {subject}?",
        "They can no longer open rooms from the portal.",
        "Take host role",
    ),
    "take admin": (
        "Take the admin role from {subject}?",
        "They can no longer open the admin pages.",
        "Take admin role",
    ),
    "protect account": (
        "Protect the account of {subject}?",
        "A protected account can join and listen but never host, from now on.",
        "Protect account",
    ),
    "suspend account": (
        "Suspend the account of {subject}?",
        "They are signed out everywhere at once and cannot sign in until restored.",
        "Suspend account",
    ),
}


def caution(action: str, subject: str) -> Caution | None:
    """Return the question to ask before a change that takes something away, or None."""
    found = _CAUTIONS.get(action)
    if found is None:
        return None
    question, consequence, button = found
    return Caution(action, question.format(subject=subject), consequence, button)


@dataclass(frozen=True)
class Found:
    """One page of people matching a search."""

    people: list[User]
    total: int
    page: int
    pages: int


def find_people(session: Session, words: str, page: int) -> Found:
    """Return a page of accounts whose email, handle or name contains `words`."""
    query = select(User)
    if words:
        like = "%" + words.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like += "%"
        query = query.where(
            or_(
                User.email.like(like, escape="\\"),
                User.handle.like(like, escape="\\"),
                func.lower(User.display_name).like(like, escape="\\"),
            )
        )
    total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(1, page), pages)
    rows = session.scalars(
        query.order_by(User.created_at.desc(), User.id.desc())
        .limit(PER_PAGE)
        .offset((page - 1) * PER_PAGE)
    )
    return Found(list(rows), total, page, pages)


def _admin() -> User:
    actor = current_user()
    assert actor is not None  # admin_required
    return actor


@admin.get("/users")
@admin_required
def users() -> str:
    """List people, newest first, found by email, handle or name, 50 to a page."""
    words = " ".join(request.args.get("q", "").split())[:320]
    page = request.args.get("page", "1")
    with current_services().catalog.sessions() as session:
        found = find_people(session, words, int(page) if page.isdigit() else 1)
        return render_template("portal/admin/users.html", found=found, q=words)


@admin.get("/users/<int:user_id>")
@admin_required
def user(user_id: int) -> str:
    """Show one person's roles, their request to host, the forms, and what admins did."""
    with current_services().catalog.sessions() as session:
        person = session.get(User, user_id)
        if person is None:
            abort(404, description=f"There is no account numbered {user_id}.")
        entries = audit.recent(session, target=f"user:{user_id}", limit=100)
        return render_template(
            "portal/admin/user.html",
            person=person,
            request_to_host=latest_for(session, user_id),
            lines=sentences.lines(session, entries),
            caution=caution,
            is_self=person.id == _admin().id,
        )


@admin.post("/users/<int:user_id>/roles")
@admin_required
def change_roles(user_id: int) -> BaseResponse | str:
    """Make one change to a person's roles, with its reason; ask first if it takes away."""
    back = url_for("admin.user", user_id=user_id)
    action = request.form.get("action", "")
    if action not in CHANGES:
        return _refused(ActionError("choose what to change: press one of the buttons"), back)
    role, value = CHANGES[action]
    try:
        with current_services().catalog.session() as session:
            person = session.get(User, user_id)
            if person is None:
                raise ActionError(f"there is no account numbered {user_id}")
            asked = caution(action, f"@{person.handle}")
            if asked is not None and request.form.get("confirmed") != "yes":
                audit.check_reason(request.form.get("reason"))
                return _ask(asked, url_for("admin.change_roles", user_id=user_id))
            actor = session.get(User, _admin().id)
            changed = set_roles(
                session, actor, person, reason=request.form.get("reason"), **{role: value}
            )
            handle = person.handle
    except RoleError as error:
        return _refused(ActionError(str(error), error.field), back)
    except ActionError as error:
        return _refused(error, back)
    if changed:
        flash(f"Done: {action} for @{handle}. The audit log has it.")
    else:
        flash(f"Nothing to change: @{handle} was already so.")
    return redirect(_next(back))


@admin.post("/host-requests/<int:request_id>")
@admin_required
def decide_host_request(request_id: int) -> BaseResponse:
    """Approve or refuse a request to host; a refusal's note is what the person reads."""
    back = url_for("admin.home")
    approve = request.form.get("action") == "approve"
    try:
        with current_services().catalog.session() as session:
            actor = session.get(User, _admin().id)
            decided = decide(session, request_id, actor, approve, request.form.get("note", ""))
            person = session.get(User, decided.user_id)
            handle = person.handle if person is not None else str(decided.user_id)
    except RequestRefused as error:
        return _refused(ActionError(str(error), error.field), back)
    verb = "approved: they can host now" if approve else "refused; they were told why"
    flash(f"The request of @{handle} is {verb}.")
    return redirect(_next(back))


@admin.post("/settings/hosts-at-once")
@admin_required
def hosts_at_once() -> BaseResponse:
    """Turn on or off approving every request to host as it is made."""
    back = url_for("admin.home")
    on = request.form.get("action") == "on"
    services = current_services()
    try:
        with services.catalog.session() as session:
            actor = session.get(User, _admin().id)
            changed = set_auto_approve(
                session, services.redis, actor, on, request.form.get("reason")
            )
    except RoleError as error:
        return _refused(ActionError(str(error), error.field), back)
    except redis.RedisError as error:
        flash(f"Not done: the settings store is unavailable ({error}). Try again shortly.")
        return redirect(back)
    state = "on" if on else "off"
    flash(f"Approving requests to host at once is {state}." if changed else f"It was {state}.")
    return redirect(_next(back))
