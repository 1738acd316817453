"""One-click unsubscribe links (RFC 8058): signed per person and trigger, and what they do.

Every mail people can stop carries a link naming who it went to and which trigger sent
it. The link is an HMAC-signed token (itsdangerous, the portal's secret key and a salt
of its own), so nobody can turn it into a link for another person or trigger. It never
expires: a mail read a year later must still stop the next one. Using it turns email
off for that trigger only; push and in-app notices stay as they were.
"""

from __future__ import annotations

from itsdangerous import BadData, URLSafeSerializer
from sqlalchemy.orm import Session

from core.catalog.models import User
from core.catalog.people import APP, BOTH, EMAIL, PUSH, TRIGGERS, channel_of, choices_of, set_choice
from core.config import Config

#: Keeps these tokens apart from anything else signed with the same secret key.
SALT = "spaces.unsubscribe.v1"
PATH = "/unsubscribe/"

#: What each choice becomes without email; choices without email stay as they are.
_WITHOUT_EMAIL = {BOTH: PUSH, EMAIL: APP}


def _serializer(config: Config) -> URLSafeSerializer:
    return URLSafeSerializer(config.secret_key, salt=SALT)


def unsubscribe_token(config: Config, user_id: int, trigger: str) -> str:
    """Return the signed token that stops `trigger`'s mail to `user_id`."""
    return str(_serializer(config).dumps([user_id, trigger]))


def unsubscribe_url(config: Config, user_id: int, trigger: str) -> str:
    """Return the public one-click unsubscribe URL for `trigger`'s mail to `user_id`."""
    return f"{config.portal_url}{PATH}{unsubscribe_token(config, user_id, trigger)}"


def read_token(config: Config, token: str) -> tuple[int, str] | None:
    """Return the (user id, trigger) a token names, or None if it is not one of ours."""
    try:
        value = _serializer(config).loads(token)
    except BadData:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    user_id, trigger = value
    # bool is an int too; a signed token never holds one, but nothing odd gets through.
    if type(user_id) is not int or not isinstance(trigger, str) or trigger not in TRIGGERS:
        return None
    return user_id, trigger


def without_email(choice: str) -> str:
    """Return `choice` with email taken out: both → push, email → in the app only."""
    return _WITHOUT_EMAIL.get(choice, choice)


def gets_email(session: Session, user_id: int, trigger: str) -> bool:
    """Return whether `trigger` currently reaches the user by email."""
    choice = channel_of(choices_of(session, [user_id]), user_id, trigger)
    return without_email(choice) != choice


def stop_email(session: Session, user_id: int, trigger: str) -> str | None:
    """Turn email off for one trigger of one person; return the new choice.

    None when the account no longer exists. Safe to repeat: a second call changes nothing.
    """
    if session.get(User, user_id) is None:
        return None
    current = channel_of(choices_of(session, [user_id]), user_id, trigger)
    choice = without_email(current)
    if choice != current:
        set_choice(session, user_id, trigger, choice)
    return choice
