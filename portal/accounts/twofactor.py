"""Two-factor sign-in (TOTP, RFC 6238): set it up, turn it off, and the code step at sign-in.

After the password is right for an account with two-factor on, the session only holds
a pending marker (the user's id and when) for PENDING_S; the person is signed in once
they type a current code or one of their recovery codes. A code is accepted in the
previous, current or next 30-second step, and never twice: the last step used per
account is kept in Redis, so a code seen over someone's shoulder cannot be replayed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

import pyotp
import redis
from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash
from werkzeug.wrappers import Response as BaseResponse

from core.catalog.models import User
from core.timeutil import utcnow
from portal.accounts.session import current_user, login_required, safe_next, sign_in
from portal.context import current_services
from portal.security import limit

twofactor = Blueprint("twofactor", __name__, url_prefix="/account/two-factor")

ISSUER = "Spaces"
PENDING_S = 5 * 60
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_PENDING, _SETUP = "two_factor_pending", "two_factor_setup"
# Compare-and-set: accept a time step only if it is later than the last one used.
_CLAIM_STEP = """
local last = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) <= last then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return 1
"""
WRONG = "That code is not right. Type the 6 digits your app shows now, or a recovery code."
NOT_RIGHT = "Your password was not right."
REUSED = "That code was just used. Wait for the next one your app shows, then type it."


def needs_second_factor(user: User) -> bool:
    """Say whether signing in as `user` needs a code after the password."""
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def ask_second_factor(user: User, target: str) -> BaseResponse:
    """Hold the sign-in as pending and send the person to type their code."""
    session[_PENDING] = {"uid": user.id, "at": time.time(), "next": target}
    return redirect(url_for("twofactor.verify"))


def _normalise(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def _hash_code(code: str) -> str:
    return hashlib.sha256(_normalise(code).encode()).hexdigest()


def new_recovery_codes() -> tuple[list[str], list[str]]:
    """Return fresh recovery codes as shown (xxxxx-xxxxx) and the hashes to store."""
    shown = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
        shown.append(f"{raw[:5]}-{raw[5:]}")
    return shown, [_hash_code(code) for code in shown]


def _matching_step(secret: str, code: str, now: float) -> int | None:
    """Return the time step whose code `code` is, within one step either side, or None."""
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current, current - 1, current + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def _claim(client: redis.Redis, key: str, step: int) -> bool:
    return bool(client.eval(_CLAIM_STEP, 1, key, step, 300))


def check_code(user: User, code: str) -> str:
    """Accept a current TOTP code or an unused recovery code of `user`; return an error or "".

    A recovery code is used up here: its hash leaves the account.
    """
    services = current_services()
    code = _normalise(code)
    if len(code) == 6 and code.isascii() and code.isdigit():
        step = _matching_step(user.totp_secret, code, time.time())
        if step is None:
            return WRONG
        return "" if _claim(services.redis, f"totp:last-step:{user.id}", step) else REUSED
    digest = _hash_code(code)
    if not code or digest not in user.recovery_codes:
        return WRONG
    # Two requests racing with one code: only the first to claim it goes on.
    if not services.redis.set(f"totp:recovery:{user.id}:{digest}", 1, nx=True, ex=86_400):
        return WRONG
    with services.catalog.session() as db:
        fresh = db.get(User, user.id)
        if fresh is None or digest not in fresh.recovery_codes:
            return WRONG
        fresh.recovery_codes = [kept for kept in fresh.recovery_codes if kept != digest]
    user.recovery_codes = fresh.recovery_codes
    return ""


def _limit(user_id: int, form: str = "code") -> None:
    # Counted like sign-in attempts, in counters of their own.
    address = request.remote_addr or "unknown"
    limit("signin", f"{form}:{address}", "code attempts from your address")
    limit("signin_email", f"{form}:{user_id}", "code attempts for this account")


def _pending_user() -> tuple[User | None, str]:
    pending = session.get(_PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("uid"), int):
        return None, ""
    if not isinstance(pending.get("at"), float | int) or time.time() - pending["at"] > PENDING_S:
        session.pop(_PENDING, None)
        return None, ""
    with current_services().catalog.sessions() as db:
        user = db.get(User, pending["uid"])
    target = safe_next(pending.get("next"), url_for("pages.home"))
    # Suspended while the code was being typed: the sign-in stops here.
    usable = user is not None and needs_second_factor(user) and user.suspended_at is None
    return (user if usable else None), target


@twofactor.route("/verify", methods=["GET", "POST"])
def verify() -> BaseResponse | tuple[str, int]:
    """Ask for the code after the password; sign in once it is right."""
    user, target = _pending_user()
    if user is None:
        flash("Sign in again: the step asking for your code lasts 5 minutes.")
        return redirect(url_for("accounts.signin"))
    page = "portal/account/two_factor_verify.html"
    if request.method == "GET":
        return render_template(page, errors={}), 200
    _limit(user.id)
    error = check_code(user, request.form.get("code", "")[:40])
    if error:
        return render_template(page, errors={"code": error}), 400
    left = len(user.recovery_codes)
    sign_in(user)
    if left < 3:
        flash(f"You have {left} recovery codes left. Make new ones on the two-factor page.")
    return redirect(target)


def _setup_secret() -> str:
    secret = session.get(_SETUP)
    if not isinstance(secret, str) or len(secret) != 32:
        secret = pyotp.random_base32()
        session[_SETUP] = secret
    return secret


def _setup_page(user: User, errors: dict[str, str], status: int = 200) -> tuple[str, int]:
    secret = _setup_secret()
    uri = pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    page = render_template(
        "portal/account/two_factor.html", secret=grouped, uri=uri, errors=errors, codes=None
    )
    return page, status


@twofactor.route("", methods=["GET", "POST"])
@login_required
def setup() -> BaseResponse | tuple[str, int]:
    """Set up two-factor sign-in: show the secret, confirm it with a code, give recovery codes."""
    user = current_user()
    assert user is not None  # login_required
    if needs_second_factor(user):
        return render_template("portal/account/two_factor.html", errors={}, codes=None), 200
    if request.method == "GET":
        return _setup_page(user, {})
    _limit(user.id, "setup")
    secret = _setup_secret()
    step = _matching_step(secret, _normalise(request.form.get("code", "")), time.time())
    if step is None:
        return _setup_page(user, {"code": WRONG.removesuffix(", or a recovery code.") + "."}, 400)
    shown, hashes = new_recovery_codes()
    with current_services().catalog.session() as db:
        fresh = db.get(User, user.id)
        assert fresh is not None  # the session's user was found this request
        fresh.totp_secret, fresh.totp_enabled_at, fresh.recovery_codes = secret, utcnow(), hashes
    _claim(current_services().redis, f"totp:last-step:{user.id}", step)
    session.pop(_SETUP, None)
    return render_template("portal/account/two_factor.html", errors={}, codes=shown), 200


@twofactor.post("/off")
@login_required
def turn_off() -> BaseResponse | tuple[str, int]:
    """Turn two-factor sign-in off, with the password and a current code."""
    user = current_user()
    assert user is not None  # login_required
    if not needs_second_factor(user):
        return redirect(url_for("twofactor.setup"))
    _limit(user.id)
    errors: dict[str, str] = {}
    if not check_password_hash(user.password_hash, request.form.get("password", "")):
        errors["password"] = NOT_RIGHT
    elif error := check_code(user, request.form.get("code", "")[:40]):
        errors["code"] = error
    if errors:
        page = render_template("portal/account/two_factor.html", errors=errors, codes=None)
        return page, 400
    with current_services().catalog.session() as db:
        fresh = db.get(User, user.id)
        assert fresh is not None
        fresh.totp_secret, fresh.totp_enabled_at, fresh.recovery_codes = "", None, []
    flash("Two-factor sign-in is off. Your password alone signs you in now.")
    return redirect(url_for("twofactor.setup"))


@twofactor.post("/codes")
@login_required
def new_codes() -> BaseResponse | tuple[str, int]:
    """Replace the recovery codes with new ones, after the password; the old ones stop working."""
    user = current_user()
    assert user is not None  # login_required
    if not needs_second_factor(user):
        return redirect(url_for("twofactor.setup"))
    _limit(user.id)
    if not check_password_hash(user.password_hash, request.form.get("password", "")):
        errors = {"codes-password": NOT_RIGHT}
        page = render_template("portal/account/two_factor.html", errors=errors, codes=None)
        return page, 400
    shown, hashes = new_recovery_codes()
    with current_services().catalog.session() as db:
        fresh = db.get(User, user.id)
        assert fresh is not None
        fresh.recovery_codes = hashes
    return render_template("portal/account/two_factor.html", errors={}, codes=shown), 200
