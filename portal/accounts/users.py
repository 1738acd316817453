"""Create accounts, check passwords, and change them; no request handling here."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from core.catalog.models import User
from core.timeutil import utcnow

MIN_PASSWORD = 10
MAX_PASSWORD = 200  # scrypt hashes any length, but nobody needs more and it bounds work
MAX_NAME = 100
# Deliberately loose: the only real check of an address is mail reaching it.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")
# Compared against when the email is unknown, so a wrong address costs as long as a
# wrong password and response times do not reveal who has an account.
_DUMMY_HASH = generate_password_hash("not a real password", method="scrypt")


class AccountError(ValueError):
    """Input that cannot make or change an account; the message says what to fix."""


def normalise_email(email: str) -> str:
    """Return the address as stored: trimmed and lowercased."""
    return email.strip().lower()


def check_email(email: str) -> str:
    """Return the normalised address, or raise AccountError saying what is wrong."""
    email = normalise_email(email)
    if len(email) > 320 or not _EMAIL.match(email):
        raise AccountError("Enter an email address like name@example.org.")
    return email


def check_password(password: str) -> str:
    """Return the password if it is acceptable, or raise AccountError."""
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Use a password of at least {MIN_PASSWORD} characters.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Use a password of at most {MAX_PASSWORD} characters.")
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
    is_host: bool = False,
    is_admin: bool = False,
    protected: bool = False,
) -> User:
    """Create an account; raise AccountError if the input is bad or the email is taken."""
    email = check_email(email)
    check_password(password)
    name = " ".join(display_name.split())[:MAX_NAME] or email.split("@", 1)[0]
    if session.scalar(select(func.count(User.id)).where(User.email == email)):
        raise AccountError("There is already an account with this email address. Sign in.")
    user = User(
        email=email,
        password_hash=hash_password(password),
        display_name=name,
        is_host=is_host,
        is_admin=is_admin,
        protected=protected,
        created_at=utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the account if the email and password match, else None."""
    user = find_user(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def change_password(user: User, current: str, new: str) -> None:
    """Replace the password after checking the current one; raise AccountError if wrong."""
    if not check_password_hash(user.password_hash, current):
        raise AccountError("Your current password was not right.")
    check_password(new)
    user.password_hash = hash_password(new)


def auth_stamp(user: User) -> str:
    """Return a fingerprint of the password hash; a password change ends other sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]
