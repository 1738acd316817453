"""Who is signed in: the session's user, signing in and out, and role checks on views."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar
from urllib.parse import urlsplit

from flask import abort, g, jsonify, redirect, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import User
from portal.accounts.users import auth_stamp
from portal.context import current_services

P = ParamSpec("P")
R = TypeVar("R")


def current_user() -> User | None:
    """Return the signed-in user of this request, or None (looked up once per request)."""
    if "user" in g:
        known: User | None = g.user
        return known
    user = None
    uid = session.get("uid")
    if isinstance(uid, int):
        with current_services().catalog.sessions() as db:
            user = db.get(User, uid)
        if user is None or session.get("auth") != auth_stamp(user):
            # Deleted account, or its password changed since: this session is over.
            session.pop("uid", None)
            session.pop("auth", None)
            user = None
    g.user = user
    return user


def signed_in_user() -> User:
    """Return the signed-in user of a view behind login_required or a role check."""
    user = current_user()
    if user is None:
        abort(401, description="Sign in to use this page, then try again.")
    return user


def sign_in(user: User) -> None:
    """Start a fresh session for `user` (a new session defeats fixation)."""
    session.clear()
    session["uid"] = user.id
    session["auth"] = auth_stamp(user)
    session.permanent = True
    g.user = user


def refresh_stamp(user: User) -> None:
    """Keep this session valid after the user's own password change (others end)."""
    session["auth"] = auth_stamp(user)
    g.user = user


def sign_out() -> None:
    """End the session."""
    session.clear()
    g.user = None


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
    check: Callable[[User], bool], message: str
) -> Callable[[Callable[P, R]], Callable[P, R | BaseResponse]]:
    def decorator(view: Callable[P, R]) -> Callable[P, R | BaseResponse]:
        @functools.wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | BaseResponse:
            user = current_user()
            if user is None:
                return _refuse_anonymous()
            if not check(user):
                abort(403, description=message)
            return view(*args, **kwargs)

        return wrapped

    return decorator


login_required = _requires(lambda user: True, "")
host_required = _requires(
    lambda user: user.can_host,
    "Only hosts can open this page. Ask an admin to make your account a host account.",
)
admin_required = _requires(lambda user: user.is_admin, "Only admins can open this page.")
