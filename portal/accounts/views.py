"""Account pages: sign up, sign in, sign out, settings (name and handle) and the password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.hosting import attach_room_hosts
from core.catalog.models import User
from portal.accounts.recovery import announce_verification
from portal.accounts.session import (
    current_user,
    end_other_sessions,
    login_required,
    safe_next,
    sign_in,
    sign_out,
)
from portal.accounts.sessions_view import sessions_pages
from portal.accounts.twofactor import ask_second_factor, needs_second_factor
from portal.accounts.users import (
    AccountError,
    authenticate,
    change_password,
    change_profile,
    create_user,
    normalise_email,
)
from portal.context import current_services
from portal.security import limit

accounts = Blueprint("accounts", __name__, url_prefix="/account")
accounts.register_blueprint(sessions_pages)


def _client() -> str:
    return request.remote_addr or "unknown"


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render an account form; `errors` maps field ids to what is wrong with them."""
    errors: dict[str, str] = context.pop("errors", {})
    page = render_template(template, errors=errors, first_error=next(iter(errors), ""), **context)
    return page, status


def _taken(error: IntegrityError) -> AccountError:
    # Two sign-ups raced for one handle or address; the later one is told which.
    if "handle" in str(error.orig).lower():
        return AccountError("That handle was just taken. Choose another handle.", "handle")
    return AccountError("There is already an account with this email address. Sign in.", "email")


@accounts.route("/signup", methods=["GET", "POST"])
def signup() -> BaseResponse | tuple[str, int]:
    """Create a listener account, with the handle people will see, and sign it in."""
    target = safe_next(request.values.get("next"), url_for("pages.home"))
    if request.method == "GET":
        return _page("portal/account/signup.html", next=target, form={})
    limit("signup", _client(), "sign-ups from your address")
    form = request.form
    kept = {key: form.get(key, "") for key in ("email", "display_name", "handle")}
    try:
        if form.get("password", "") != form.get("confirm", ""):
            raise AccountError("The two passwords differ. Type the same one twice.", "confirm")
        try:
            with current_services().catalog.session() as db:
                user = create_user(
                    db,
                    form.get("email", ""),
                    form.get("password", ""),
                    display_name=form.get("display_name", ""),
                    handle=form.get("handle", ""),
                )
        except IntegrityError as error:
            raise _taken(error) from None
    except AccountError as error:
        return _page(
            "portal/account/signup.html",
            400,
            next=target,
            form=kept,
            errors={error.field or "email": str(error)},
        )
    sign_in(user)
    flash(f"Welcome, @{user.handle}! Your account is ready. {announce_verification(user)}")
    return redirect(target)


@accounts.route("/signin", methods=["GET", "POST"])
def signin() -> BaseResponse | tuple[str, int]:
    """Sign in with email and password."""
    target = safe_next(request.values.get("next"), url_for("pages.home"))
    if request.method == "GET":
        return _page("portal/account/signin.html", next=target, email="")
    email = normalise_email(request.form.get("email", ""))[:320]
    limit("signin", _client(), "sign-in attempts from your address")
    limit("signin_email", email, "sign-in attempts for this account")
    try:
        with current_services().catalog.sessions() as db:
            user = authenticate(db, email, request.form.get("password", ""))
    except AccountError as refused:  # a suspended account, with the right password
        errors = {"password": str(refused)}
        return _page("portal/account/signin.html", 403, next=target, email=email, errors=errors)
    if user is None:
        return _page(
            "portal/account/signin.html",
            400,
            next=target,
            email=email,
            errors={
                "password": "That email and password do not match an account. "
                "Check both and try again."
            },
        )
    if needs_second_factor(user):
        return ask_second_factor(user, target)
    sign_in(user)
    return redirect(target)


@accounts.post("/signout")
def signout() -> BaseResponse:
    """Sign out and go home."""
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("pages.home"))


@accounts.route("/settings", methods=["GET", "POST"])
@login_required
def settings() -> BaseResponse | tuple[str, int]:
    """Change the name and handle people see; the host's listings follow the handle."""
    user = current_user()
    assert user is not None  # login_required
    if request.method == "GET":
        form = {"display_name": user.display_name, "handle": user.handle}
        return _page("portal/account/settings.html", form=form)
    form = {key: request.form.get(key, "") for key in ("display_name", "handle")}
    try:
        try:
            with current_services().catalog.session() as db:
                fresh = db.get(User, user.id)
                assert fresh is not None  # the session's user was found this request
                old = fresh.handle
                change_profile(db, fresh, display_name=form["display_name"], handle=form["handle"])
                db.flush()
                attach_room_hosts(db, user_id=fresh.id)  # their listings follow
        except IntegrityError as error:
            raise _taken(error) from None
    except AccountError as error:
        return _page(
            "portal/account/settings.html",
            400,
            form=form,
            errors={error.field or "handle": str(error)},
        )
    changed = f" You are @{fresh.handle} now." if fresh.handle != old else ""
    flash(f"Your settings are saved.{changed}")
    return redirect(url_for("accounts.settings"))


@accounts.route("/password", methods=["GET", "POST"])
@login_required
def password() -> BaseResponse | tuple[str, int]:
    """Change the password; other sessions of this account end."""
    user = current_user()
    assert user is not None  # login_required
    if request.method == "GET":
        return _page("portal/account/password.html")
    form = request.form
    limit("password", str(user.id), "password attempts")
    try:
        if form.get("new", "") != form.get("confirm", ""):
            raise AccountError("The two new passwords differ. Type the same one twice.", "confirm")
        with current_services().catalog.session() as db:
            fresh = db.get(User, user.id)
            assert fresh is not None
            change_password(fresh, form.get("current", ""), form.get("new", ""))
    except AccountError as error:
        field = "new" if error.field == "password" else error.field or "current"
        return _page("portal/account/password.html", 400, errors={field: str(error)})
    end_other_sessions(fresh)
    flash("Your password is changed. Other devices are signed out.")
    return redirect(url_for("accounts.password"))
