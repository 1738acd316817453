"""Cross-site request forgery protection: a per-session token on every state change."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import abort, current_app, request, session

from portal.accounts.session import SESSION_KEY

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_KEY = "_csrf"

F = TypeVar("F", bound=Callable[..., object])


def csrf_token() -> str:
    """Return this session's token, creating it on first use (templates call this)."""
    token = session.get(_KEY)
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session[_KEY] = token
    return token


def csrf_exempt(view: F) -> F:
    """Mark a view that authenticates without the session, so it needs no token."""
    view.csrf_exempt = True  # type: ignore[attr-defined]  # Callable types declare no attributes
    return view


def check_csrf() -> None:
    """Refuse a state-changing request that lacks this session's token (before_request)."""
    if request.method in _SAFE_METHODS or request.endpoint is None:
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "csrf_exempt", False):
        return
    is_api = request.path.startswith("/api/")
    if is_api and SESSION_KEY not in session:
        # An API call without a signed-in session carries no ambient authority to forge;
        # the endpoint authenticates it some other way (a token) or not at all.
        return
    sent = request.headers.get(HEADER) or ("" if is_api else request.form.get(FIELD, ""))
    expected = session.get(_KEY)
    if not sent or not isinstance(expected, str) or not hmac.compare_digest(sent, expected):
        abort(
            400,
            description="This form has expired or did not come from this site. "
            "Go back, reload the page and try again.",
        )
