"""Who is signed in: the session's user, signing in and out, and role checks on views.

Sessions are held in the catalog (core.catalog.auth_sessions); the cookie carries only
a random token, so signing out ends the session for every copy of the cookie.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import (
    Response,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers import Response as BaseResponse

from core.catalog import auth_sessions
from core.catalog.models import User
from core.timeutil import utcnow
from portal.context import current_services

P = ParamSpec("P")
R = TypeVar("R")


#: The cookie session's key for the random session token (the only thing it says of who).
SESSION_KEY = "sid"


def current_user() -> User | None:
    """Return the signed-in user of this request, or None (looked up once per request)."""
    if "user" in g:
        known: User | None = g.user
        return known
    user = None
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        user = _user_of(token)
        if user is None:
            # Signed out elsewhere, idle or too old, or the account is gone: forget it.
            session.pop(SESSION_KEY, None)
    g.user = user
    return user


def _user_of(token: str) -> User | None:
    services = current_services()
    config = services.config
    now = utcnow()
    with services.catalog.session() as db:
        row = auth_sessions.find(db, token, now, config.session_idle_s, config.session_max_s)
        user = db.get(User, row.user_id) if row is not None else None
        if row is None or user is None:
            return None
        auth_sessions.touch(db, row, now, address=request.remote_addr)
        g.auth_session_id = row.id
    return user


def current_session_id() -> str | None:
    """Return the id of this request's signed-in session (to mark "this device")."""
    current_user()
    found: str | None = g.get("auth_session_id")
    return found


def signed_in_user() -> User:
    """Return the signed-in user of a view behind login_required or a role check."""
    user = current_user()
    if user is None:
        abort(401, description="Sign in to use this page, then try again.")
    return user


def sign_in(user: User) -> None:
    """Start a fresh session for `user`: a new token defeats fixation."""
    services = current_services()
    old = session.get(SESSION_KEY)
    session.clear()
    with services.catalog.session() as db:
        if isinstance(old, str):
            auth_sessions.end(db, old)  # this browser's previous session, if any
        token = auth_sessions.start(
            db,
            user.id,
            user_agent=request.user_agent.string,
            address=request.remote_addr or "",
            now=utcnow(),
        )
    session[SESSION_KEY] = token
    # The cookie lasts as long as a session may; the catalog ends it sooner when idle.
    session.permanent = True
    g.user = user
    g.auth_session_id = auth_sessions.hash_token(token)


def end_other_sessions(user: User) -> int:
    """End every session of `user` but this request's; return how many ended."""
    with current_services().catalog.session() as db:
        return auth_sessions.end_all(db, user.id, keep=session.get(SESSION_KEY) or None)


def sign_out() -> None:
    """End this session on the server, so no copy of its cookie works any longer."""
    token = session.get(SESSION_KEY)
    if isinstance(token, str):
        with current_services().catalog.session() as db:
            auth_sessions.end(db, token)
    session.clear()
    g.user = None
    g.pop("auth_session_id", None)


def safe_next(target: str | None, default: str) -> str:
    """Return `target` if it is a path on this site, else `default` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def _refuse_anonymous() -> BaseResponse:
    if request.path.startswith("/api/"):
        response = jsonify({"error": "sign in first: this needs an account"})
        response.status_code = 401
        return response
    # After signing in, a GET comes back here; a refused form post goes back to its page.
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    else:
        target = safe_next(request.form.get("next"), url_for("pages.home"))
    return redirect(url_for("accounts.signin", next=target))


def _requires(
    check: Callable[[User], bool], message: str, page: str = ""
) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    def decorator(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            user = current_user()
            if user is None:
                return _refuse_anonymous()
            if not check(user):
                if page and not request.path.startswith("/api/"):
                    # A page of its own can link where to go next; the API gets the words.
                    abort(Response(render_template(page, message=message), status=403))
                abort(403, description=message)
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = _requires(lambda user: True, "")
host_required = _requires(
    lambda user: user.can_host,
    "Only hosts can open this page. To open rooms, ask to host from your account page:"
    " /account/host",
    page="portal/account/host_needed.html",
)
admin_required = _requires(lambda user: user.is_admin, "Only admins can open this page.")
