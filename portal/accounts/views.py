"""Account pages: sign up, sign in, sign out and change the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import User
from portal.accounts.session import (
    current_user,
    login_required,
    refresh_stamp,
    safe_next,
    sign_in,
    sign_out,
)
from portal.accounts.users import (
    AccountError,
    authenticate,
    change_password,
    create_user,
    normalise_email,
)
from portal.context import current_services
from portal.security import enforce, limiter_for

accounts = Blueprint("accounts", __name__, url_prefix="/account")

# Generous for people, tight for scripts: guessing needs far more than this.
SIGNIN_PER_ADDR = (20, 300)
SIGNIN_PER_EMAIL = (10, 900)
SIGNUP_PER_ADDR = (5, 3600)


def _limit(name: str, key: str, default: tuple[int, int], what: str) -> None:
    services = current_services()
    limiter = limiter_for(services.redis, services.config.extra, name, *default)
    enforce(limiter, key, what)


def _client() -> str:
    return request.remote_addr or "unknown"


@accounts.route("/signup", methods=["GET", "POST"])
def signup() -> BaseResponse | str | tuple[str, int]:
    """Create a listener account and sign it in."""
    target = safe_next(request.values.get("next"), url_for("pages.home"))
    if request.method == "GET":
        return render_template("portal/account/signup.html", next=target, form={})
    _limit("signup", _client(), SIGNUP_PER_ADDR, "sign-ups from your address")
    form = request.form
    try:
        if form.get("password", "") != form.get("confirm", ""):
            raise AccountError("The two passwords differ. Type the same one twice.")
        with current_services().catalog.session() as db:
            user = create_user(
                db,
                form.get("email", ""),
                form.get("password", ""),
                display_name=form.get("display_name", ""),
            )
    except AccountError as error:
        fields = {"email": form.get("email", ""), "display_name": form.get("display_name", "")}
        return render_template(
            "portal/account/signup.html", next=target, form=fields, error=str(error)
        ), 400
    sign_in(user)
    flash("Welcome! Your account is ready.")
    return redirect(target)


@accounts.route("/signin", methods=["GET", "POST"])
def signin() -> BaseResponse | str | tuple[str, int]:
    """Sign in with email and password."""
    target = safe_next(request.values.get("next"), url_for("pages.home"))
    if request.method == "GET":
        return render_template("portal/account/signin.html", next=target, email="")
    email = normalise_email(request.form.get("email", ""))[:320]
    _limit("signin", _client(), SIGNIN_PER_ADDR, "sign-in attempts from your address")
    _limit("signin_email", email, SIGNIN_PER_EMAIL, "sign-in attempts for this account")
    with current_services().catalog.sessions() as db:
        user = authenticate(db, email, request.form.get("password", ""))
    if user is None:
        return render_template(
            "portal/account/signin.html",
            next=target,
            email=email,
            error="That email and password do not match an account. Check both and try again.",
        ), 400
    sign_in(user)
    return redirect(target)


@accounts.post("/signout")
def signout() -> BaseResponse:
    """Sign out and go home."""
    sign_out()
    flash("You are signed out.")
    return redirect(url_for("pages.home"))


@accounts.route("/password", methods=["GET", "POST"])
@login_required
def password() -> BaseResponse | str | tuple[str, int]:
    """Change the password; other sessions of this account end."""
    user = current_user()
    assert user is not None  # login_required
    if request.method == "GET":
        return render_template("portal/account/password.html")
    form = request.form
    _limit("password", str(user.id), SIGNIN_PER_EMAIL, "password attempts")
    try:
        if form.get("new", "") != form.get("confirm", ""):
            raise AccountError("The two new passwords differ. Type the same one twice.")
        with current_services().catalog.session() as db:
            fresh = db.get(User, user.id)
            assert fresh is not None
            change_password(fresh, form.get("current", ""), form.get("new", ""))
    except AccountError as error:
        return render_template("portal/account/password.html", error=str(error)), 400
    refresh_stamp(fresh)
    flash("Your password is changed. Other devices are signed out.")
    return redirect(url_for("accounts.password"))
