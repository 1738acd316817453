"""What each person asked to hear of, and on which channels.

A trigger is a kind of notice (`Notification.kind`). Each person chooses per trigger
how it reaches them: in the app only, by push, by email, or both; with no choice made
the trigger's default holds. In-app notices are always kept: the channels add to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import NotifyChoice, User

APP, PUSH, EMAIL, BOTH, OFF = "app", "push", "email", "both", "off"
CHANNEL_CHOICES = (APP, PUSH, EMAIL, BOTH)


@dataclass(frozen=True)
class Trigger:
    """A kind of notice people can choose channels for."""

    name: str
    label: str
    default: str
    #: Whether "off" is a choice: a notice nobody asked for unless they turn it on.
    optional: bool = False


TRIGGERS: dict[str, Trigger] = {
    t.name: t
    for t in (
        Trigger("follow", "A host you follow goes live", PUSH),
        Trigger("reminder", "A space you set a reminder for starts", BOTH),
        Trigger("soon", "10 minutes before a space you set a reminder for", OFF, True),
        Trigger("starting", "A reminded space is due but its host has not started", APP),
        Trigger("search", "A saved search matches a space that goes live", EMAIL),
        Trigger("decision", "Admins decide on your submission or host request", EMAIL),
    )
}


def choices_of(session: Session, user_ids: list[int]) -> dict[tuple[int, str], str]:
    """Return the channels each of `user_ids` chose, by (user id, trigger); defaults left out."""
    if not user_ids:
        return {}
    rows = session.execute(
        select(NotifyChoice.user_id, NotifyChoice.trigger, NotifyChoice.channels).where(
            NotifyChoice.user_id.in_(user_ids)
        )
    )
    return {(user_id, trigger): channels for user_id, trigger, channels in rows}


def channel_of(choices: dict[tuple[int, str], str], user_id: int, trigger: str) -> str:
    """Return the choice for (user, trigger): theirs if made, else the trigger's default."""
    known = TRIGGERS.get(trigger)
    default = known.default if known else APP
    return choices.get((user_id, trigger), default)


def channels(choice: str) -> tuple[str, ...]:
    """Return the outside channels a choice sends on: () for app-only or off."""
    return {PUSH: (PUSH,), EMAIL: (EMAIL,), BOTH: (PUSH, EMAIL)}.get(choice, ())


def set_choice(session: Session, user_id: int, trigger: str, choice: str) -> None:
    """Record how `trigger` reaches the user; ValueError for an unknown trigger or choice."""
    known = TRIGGERS.get(trigger)
    allowed = CHANNEL_CHOICES + ((OFF,) if known and known.optional else ())
    if known is None or choice not in allowed:
        raise ValueError(f"cannot send {trigger!r} by {choice!r}")
    row = session.scalar(
        select(NotifyChoice).where(NotifyChoice.user_id == user_id, NotifyChoice.trigger == trigger)
    )
    if row is None:
        session.add(NotifyChoice(user_id=user_id, trigger=trigger, channels=choice))
    else:
        row.channels = choice


def allowed_choices(trigger: str) -> tuple[str, ...]:
    """Return the choices a trigger offers: the four channels, and "off" if optional."""
    known = TRIGGERS.get(trigger)
    return CHANNEL_CHOICES + ((OFF,) if known and known.optional else ())


def choices_for(session: Session, user_id: int) -> dict[str, str]:
    """Return one person's choice for every trigger, defaults filled in, in TRIGGERS order."""
    made = choices_of(session, [user_id])
    return {name: channel_of(made, user_id, name) for name in TRIGGERS}


def set_mail_digest(session: Session, user_id: int, digest: bool) -> None:
    """Record whether the person's mail waits for a quiet digest instead of going at once."""
    user = session.get(User, user_id)
    if user is None:
        raise ValueError(f"there is no user {user_id}")
    user.mail_digest = digest
