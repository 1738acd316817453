"""Accounts: sign up, sign in and out, roles, and CSRF protection for every form."""

from __future__ import annotations

from typing import Any

from flask import Flask

from portal.accounts import hosting_request as _hosting  # noqa: F401 - /account/host
from portal.accounts.csrf import check_csrf, csrf_exempt, csrf_token
from portal.accounts.recovery import recovery
from portal.accounts.session import (
    admin_required,
    current_user,
    host_required,
    login_required,
    signed_in_user,
)
from portal.accounts.twofactor import twofactor
from portal.accounts.views import accounts

__all__ = [
    "admin_required",
    "csrf_exempt",
    "csrf_token",
    "current_user",
    "host_required",
    "init_app",
    "login_required",
    "signed_in_user",
]


def init_app(app: Flask) -> None:
    """Register the account pages, the CSRF check and the template helpers."""
    app.before_request(check_csrf)
    app.register_blueprint(accounts)
    app.register_blueprint(recovery)
    app.register_blueprint(twofactor)
    app.jinja_env.globals["csrf_token"] = csrf_token

    @app.context_processor
    def user_context() -> dict[str, Any]:
        return {"current_user": current_user()}
