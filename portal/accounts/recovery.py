"""Account links sent by mail: reset a forgotten password, and verify an address.

Each link carries a token signed with the portal's secret (a salt per purpose) that
expires after LINK_MAX_AGE_S. It needs no table to be single-use: the token holds a
fingerprint of the state it changes (the password hash; the address while unverified),
so once the link has done its work the fingerprint no longer matches.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.auth_sessions import end_all
from core.catalog.models import User
from core.config import Config
from core.mail import MailError, build_mailer, compose
from core.timeutil import utcnow
from portal.accounts.session import current_user, login_required, sign_out
from portal.accounts.users import (
    AccountError,
    check_email,
    check_password,
    find_user,
    hash_password,
)
from portal.context import current_services
from portal.security import limit

log = logging.getLogger(__name__)

recovery = Blueprint("recovery", __name__, url_prefix="/account")

LINK_MAX_AGE_S = 30 * 60
RESET, VERIFY = "password-reset", "verify-email"
MAIL_FAILED = "We could not send the mail just now. Try again in a few minutes."


class _IssuedAt(TimestampSigner):
    """A timestamp signer whose clock can be set, so a link's age can be chosen."""

    def __init__(self, *args: Any, now: float | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now

    def get_timestamp(self) -> int:
        return super().get_timestamp() if self.now is None else int(self.now)


def _serializer(config: Config, purpose: str, now: float | None) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        config.secret_key, salt=f"account-{purpose}", signer=_IssuedAt, signer_kwargs={"now": now}
    )


def _fingerprint(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:20]


def _state(user: User, purpose: str) -> str:
    """Return what the link changes, as it is now; a used link no longer matches it."""
    if purpose == RESET:
        return _fingerprint(user.password_hash)
    return _fingerprint(f"{user.email}|{'verified' if user.email_verified_at else 'unverified'}")


def link_token(config: Config, user: User, purpose: str, *, now: float | None = None) -> str:
    """Return a signed token for `purpose` (RESET or VERIFY) bound to the user's state."""
    payload = {"u": user.id, "s": _state(user, purpose)}
    return str(_serializer(config, purpose, now).dumps(payload))


def _user_of(token: str, purpose: str) -> User | None:
    """Return the user a valid, unexpired and unused token names, else None."""
    services = current_services()
    try:
        payload = _serializer(services.config, purpose, None).loads(token, max_age=LINK_MAX_AGE_S)
    except BadData:
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("u"), int):
        return None
    with services.catalog.sessions() as db:
        user = db.get(User, payload["u"])
    if user is None or payload.get("s") != _state(user, purpose):
        return None
    return user


def _invalid(purpose: str) -> tuple[str, int]:
    again = url_for("recovery.forgot") if purpose == RESET else url_for("accounts.settings")
    return render_template("portal/account/link_invalid.html", again=again), 400


def _send(config: Config, to: str, subject: str, text: str) -> None:
    build_mailer(config).send(compose(config, to, subject, text))


def _reset_mail(config: Config, user: User) -> tuple[str, str]:
    link = f"{config.portal_url}/account/reset/{link_token(config, user, RESET)}"
    text = (
        f"Someone asked to reset the password of the Spaces account {user.email}.\n\n"
        f"Choose a new password here (the link works once, for 30 minutes):\n{link}\n\n"
        "If it was not you, ignore this mail: your password stays as it is."
    )
    return "Choose a new password for Spaces", text


def send_verification(user: User) -> bool:
    """Mail `user` a link that verifies their address; return False if it could not go."""
    config = current_services().config
    link = f"{config.portal_url}/account/verify/{link_token(config, user, VERIFY)}"
    text = (
        f"Welcome to Spaces, @{user.handle}.\n\n"
        f"Confirm that {user.email} is your address (the link works for 30 minutes):\n{link}\n\n"
        "If you did not make this account, ignore this mail."
    )
    try:
        _send(config, user.email, "Confirm your address for Spaces", text)
    except MailError as error:
        log.warning("verification mail to user %s not sent: %s", user.id, error)
        return False
    return True


def announce_verification(user: User) -> str:
    """Send the verification mail after sign-up; return a sentence saying how it went."""
    if send_verification(user):
        return f"We sent a link to {user.email}: open it to confirm your address."
    return (
        "We could not send the mail that confirms your address just now: "
        "send it again from your account settings in a few minutes."
    )


def _client() -> str:
    return request.remote_addr or "unknown"


@recovery.route("/forgot", methods=["GET", "POST"])
def forgot() -> tuple[str, int]:
    """Ask for a link to choose a new password; the answer never says who has an account."""
    page = "portal/account/forgot.html"
    if request.method == "GET":
        return render_template(page, email="", errors={}, sent=False), 200
    services = current_services()
    email = request.form.get("email", "").strip().lower()[:320]
    limit("password_reset", _client(), "password reset requests from your address")
    limit("password_reset", f"email:{email}", "password reset requests for this address")
    try:
        check_email(email)
    except AccountError as error:
        return render_template(page, email=email, errors={"email": str(error)}, sent=False), 400
    with services.catalog.sessions() as db:
        user = find_user(db, email)
    if user is not None:
        subject, text = _reset_mail(services.config, user)
        try:
            _send(services.config, user.email, subject, text)
        except MailError as error:
            log.error("password reset mail to user %s not sent: %s", user.id, error)
            errors = {"email": MAIL_FAILED}
            return render_template(page, email=email, errors=errors, sent=False), 503
    return render_template(page, email=email, errors={}, sent=True), 200


@recovery.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> BaseResponse | tuple[str, int]:
    """Set a new password from a mailed link; every session of the account ends."""
    user = _user_of(token, RESET)
    if user is None:
        return _invalid(RESET)
    page = "portal/account/reset.html"
    if request.method == "GET":
        return render_template(page, token=token, email=user.email, errors={}), 200
    new, confirm = request.form.get("new", ""), request.form.get("confirm", "")
    try:
        check_password(new)
        if new != confirm:
            raise AccountError("The two passwords differ. Type the same one twice.", "confirm")
    except AccountError as error:
        field = "new" if error.field == "password" else error.field
        errors = {field: str(error)}
        return render_template(page, token=token, email=user.email, errors=errors), 400
    with current_services().catalog.session() as db:
        fresh = db.get(User, user.id)
        if fresh is None or _state(fresh, RESET) != _state(user, RESET):
            return _invalid(RESET)  # the link was used in the meantime
        fresh.password_hash = hash_password(new)
        # The mail reached its owner, which is what verifying the address proves.
        fresh.email_verified_at = fresh.email_verified_at or utcnow()
        end_all(db, fresh.id)
    sign_out()
    flash("Your password is changed and every device is signed out. Sign in with it now.")
    return redirect(url_for("accounts.signin"))


@recovery.get("/verify/<token>")
def verify(token: str) -> BaseResponse | tuple[str, int]:
    """Mark the address verified from the link mailed to it."""
    user = _user_of(token, VERIFY)
    if user is None:
        return _invalid(VERIFY)
    with current_services().catalog.session() as db:
        fresh = db.get(User, user.id)
        if fresh is None or fresh.email_verified_at is not None or fresh.email != user.email:
            return _invalid(VERIFY)
        fresh.email_verified_at = utcnow()
    flash(f"Thank you: {user.email} is verified.")
    return redirect(url_for("accounts.settings") if current_user() else url_for("pages.home"))


@recovery.post("/verify/resend")
@login_required
def resend_verification() -> BaseResponse:
    """Send the verification link again, from the account settings."""
    user = current_user()
    assert user is not None  # login_required
    limit("signup", f"verify:{_client()}", "verification mails from your address")
    if user.email_verified_at is not None:
        flash("Your address is already verified.")
    elif send_verification(user):
        flash(f"We sent a new link to {user.email}. It works for 30 minutes.")
    else:
        flash(MAIL_FAILED)
    return redirect(url_for("accounts.settings"))
