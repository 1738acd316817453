"""Create accounts, check passwords, and change them; no request handling here."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.catalog.models import User
from core.timeutil import utcnow
from portal.accounts.handles import (
    HandleError,
    check_handle,
    free_handle,
    handle_taken,
    suggest_handle,
)

MIN_PASSWORD = 10
SUSPENDED = "This account is suspended. Write to the admins if you think this is a mistake."
MAX_PASSWORD = 200  # scrypt hashes any length, but nobody needs more and it bounds work
MAX_NAME = 100
# Deliberately loose: the only real check of an address is mail reaching it.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
# Compared against when the email is unknown, so a wrong address costs as long as a
# wrong password and response times do not reveal who has an account.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class AccountError(ValueError):
    """Input that cannot make or change an account; the message says what to fix.

    `field` names the form field at fault, so the page can show the message beside it.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    """Return the address as stored: trimmed and lowercased."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """Return the normalised address, or raise AccountError saying what is wrong."""
    email = normalise_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise AccountError("Enter an email address like name@example.org.", "email")
    return email


def check_password(password: str) -> str:
    """Return the password if it is acceptable, or raise AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters.", "password")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Use a password of at most {MAX_PASSWORD} characters.", "password")
    return password


def hash_password(password: str) -> str:
    """Hash a password with scrypt."""
    return generate_password_hash(password, method="scrypt")


def find_user(session: Session, email: str) -> User | None:
    """Return the account with this email address, if there is one."""
    return session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    session: Session,
    email: str,
    password: str,
    *,
    display_name: str = "",
    handle: str = "",
    is_host: bool = False,
    is_admin: bool = False,
    protected: bool = False,
) -> User:
    """Create an account; raise AccountError if the input is bad or the email is taken.

    Without a `handle`, one is made of the display name or the email address.
    """
    email = check_email(email)
    check_password(password)
    name = check_display_name(display_name) or email.split("@", 1)[0]
    if session.scalar(select(func.count(User.id)).where(User.email == email)):
        raise AccountError("There is already an account with this email address. Sign in.", "email")
    if handle:
        chosen = available_handle(session, handle)
    else:
        chosen = free_handle(session, suggest_handle(name, email.split("@", 1)[0]))
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=name,
        handle=chosen,
        is_host=is_host,
        is_admin=is_admin,
        protected=protected,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def check_display_name(display_name: str) -> str:
    """Return the name as stored (spaces collapsed), or raise AccountError if too long."""
    name = " ".join(display_name.split())
    if len(name) > MAX_NAME:
        raise AccountError(f"Keep your name under {MAX_NAME} characters.", "display_name")
    return name


def available_handle(session: Session, handle: str, *, for_user: int | None = None) -> str:
    """Return the handle as stored if it is valid and free, or raise AccountError."""
    try:
        clean = check_handle(handle)
    except HandleError as error:
        raise AccountError(str(error), "handle") from None
    if handle_taken(session, clean, by_other_than=for_user):
        raise AccountError(f"@{clean} is taken. Choose another handle.", "handle")
    return clean


def change_profile(session: Session, user: User, *, display_name: str, handle: str) -> None:
    """Change the user's display name and handle; raise AccountError saying what to fix."""
    name = check_display_name(display_name)
    if not name:
        raise AccountError("Give the name people see, like Ann Lee.", "display_name")
    user.handle = available_handle(session, handle, for_user=user.id)
    user.display_name = name


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the account if the email and password match, else None.

    Raise AccountError for a suspended account, only once the password matched, so the
    answer tells nothing of an account to someone without its password.
    """
    user = find_user(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    if user.suspended_at is not None:
        raise AccountError(SUSPENDED, "password")
    return user


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; raise AccountError if wrong."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("Your current password was not right.", "current")
    try:
        check_password(new)
    except AccountError as error:
        raise AccountError(str(error), "new") from None
    user.password_hash = hash_password(new)
