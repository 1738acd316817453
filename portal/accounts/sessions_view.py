"""The Sessions page: where the account is signed in, and ending any of those sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog import auth_sessions
from core.catalog.models import AuthSession
from core.timeutil import utcnow
from portal.accounts.devices import device_label
from portal.accounts.session import (
    current_session_id,
    end_other_sessions,
    login_required,
    sign_out,
    signed_in_user,
)
from portal.context import current_services

#: Registered under the accounts blueprint: its pages live at /account/sessions.
sessions_pages = Blueprint("sessions", __name__, url_prefix="/sessions")


@dataclass(frozen=True)
class SessionView:
    """One session as the page shows it."""

    id: str
    device: str
    address: str
    signed_in_at: datetime
    last_seen_at: datetime
    this_device: bool


def _shown(row: AuthSession, current: str | None) -> SessionView:
    return SessionView(
        id=row.id,
        device=device_label(row.user_agent),
        address=row.address,
        signed_in_at=row.created_at,
        last_seen_at=row.last_seen_at,
        this_device=row.id == current,
    )


@sessions_pages.get("")
@login_required
def page() -> str:
    """List the account's active sessions, this device first."""
    user = signed_in_user()
    config = current_services().config
    current = current_session_id()
    with current_services().catalog.sessions() as db:
        rows = auth_sessions.list_for(
            db, user.id, now=utcnow(), idle_s=config.session_idle_s, max_s=config.session_max_s
        )
    shown = sorted((_shown(row, current) for row in rows), key=lambda s: not s.this_device)
    return render_template("portal/account/sessions.html", sessions=shown)


@sessions_pages.post("/<session_id>/end")
@login_required
def end(session_id: str) -> BaseResponse:
    """End one of the account's sessions; ending this one signs out here."""
    user = signed_in_user()
    if session_id == current_session_id():
        sign_out()
        flash("You are signed out on this device.")
        return redirect(url_for("pages.home"))
    with current_services().catalog.session() as db:
        row = db.get(AuthSession, session_id)
        # Another tab may have ended it already; another account's is none of ours.
        if row is None or row.user_id != user.id:
            flash("That session had already ended. Here are the ones still open.")
            return redirect(url_for("accounts.sessions.page"))
        auth_sessions.end(db, row.id)
        device = device_label(row.user_agent)
    flash(f"The session on {device} is ended: that device is signed out.")
    return redirect(url_for("accounts.sessions.page"))


@sessions_pages.post("/end-others")
@login_required
def end_others() -> BaseResponse:
    """Sign out everywhere but here."""
    ended = end_other_sessions(signed_in_user())
    if ended:
        flash(f"Signed out everywhere else ({ended} {'session' if ended == 1 else 'sessions'}).")
    else:
        flash("You were not signed in anywhere else.")
    return redirect(url_for("accounts.sessions.page"))
