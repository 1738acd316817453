"""Change what a person may do: host, admin, protected, suspended; each change logged.

Every change is one audit entry with the value before and after and the reason, its
target "user:<id>". An entry with no actor was made at the command line; its `after`
says so, for the log to tell.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from core.catalog import auth_sessions
from core.catalog.curation import add_audit_entry
from core.catalog.models import AuditEntry, User
from core.timeutil import utcnow

MAX_REASON = 1000
#: What `after["via"]` says of a change made at the command line.
COMMAND_LINE = "command line"
#: (field as logged, action when set on, action when set off).
_ROLES: dict[str, tuple[str, str, str]] = {
    "host": ("is_host", "grant host", "take host"),
    "admin": ("is_admin", "grant admin", "take admin"),
    "protected": ("protected", "protect account", "unprotect account"),
    "suspended": ("suspended", "suspend account", "restore account"),
}
#: Every action this module and host requests log; the audit log cannot undo them, since
#: undoing one is another change with its own reason, made from the person's page.
PEOPLE_ACTIONS = frozenset(
    {action for _, on, off in _ROLES.values() for action in (on, off)}
    | {"approve host request", "refuse host request", "turn on setting", "turn off setting"}
)


class RoleError(ValueError):
    """A change to a person's roles that cannot be made; the message says what to do.

    `field` names the form field at fault ("reason"), or is empty.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RoleChange:
    """One change made: the action's name and the value before and after."""

    action: str
    field: str
    before: bool
    after: bool


def check_reason(reason: str | None, what: str = "every change to a person's roles") -> str:
    """Return the reason tidied; raise RoleError if there is none or it is too long."""
    text = " ".join((reason or "").split())
    if not text:
        raise RoleError(f"say why: {what} needs a reason, for the audit log", "reason")
    if len(text) > MAX_REASON:
        raise RoleError(f"keep the reason under {MAX_REASON} characters", "reason")
    return text


def record(
    session: Session,
    actor: User | None,
    action: str,
    target: str,
    reason: str,
    before: dict[str, Any],
    after: dict[str, Any],
) -> AuditEntry:
    """Add one audit entry; with no actor, it says it came from the command line."""
    if actor is None and "via" not in after:
        after = {**after, "via": COMMAND_LINE}
    actor_id = actor.id if actor is not None else None
    return add_audit_entry(session, actor_id, action, target, reason[:MAX_REASON], before, after)


def roles_of(user: User) -> dict[str, bool]:
    """Return the person's roles and flags by the names set_roles takes."""
    return {
        "host": bool(user.is_host),
        "admin": bool(user.is_admin),
        "protected": bool(user.protected),
        "suspended": user.suspended_at is not None,
    }


def _refuse_unsafe(actor: User | None, user: User, wanted: dict[str, bool]) -> None:
    if actor is not None and actor.id == user.id:
        if wanted.get("admin") is False:
            raise RoleError("you cannot take away your own admin role; ask another admin")
        if wanted.get("suspended") is True:
            raise RoleError("you cannot suspend your own account")
    protected = wanted.get("protected", bool(user.protected))
    if wanted.get("host") is True and protected:
        raise RoleError(
            f"@{user.handle} is protected, and a protected account never hosts;"
            " lift the protection first if hosting is right for them"
        )


def set_roles(
    session: Session,
    actor: User | None,
    user: User,
    *,
    host: bool | None = None,
    admin: bool | None = None,
    protected: bool | None = None,
    suspended: bool | None = None,
    reason: str | None,
) -> list[RoleChange]:
    """Set the roles given (None: leave it), logging one audit entry per change.

    Protecting or suspending an account stops its hosting at once (`User.can_host`);
    suspending also ends every session it has. `actor` None: the command line.
    """
    asked = {"host": host, "admin": admin, "protected": protected, "suspended": suspended}
    wanted = {name: value for name, value in asked.items() if value is not None}
    why = check_reason(reason)
    _refuse_unsafe(actor, user, wanted)
    current = roles_of(user)
    changes = []
    for name, value in wanted.items():
        if current[name] == value:
            continue
        field, on, off = _ROLES[name]
        _apply(session, user, name, value)
        action = on if value else off
        record(session, actor, action, f"user:{user.id}", why, {field: not value}, {field: value})
        changes.append(RoleChange(action, field, not value, value))
    return changes


def _apply(session: Session, user: User, name: str, value: bool) -> None:
    if name == "host":
        user.is_host = value
    elif name == "admin":
        user.is_admin = value
    elif name == "protected":
        user.protected = value
    elif value:
        user.suspended_at = utcnow()
        session.flush()
        # A suspended account's open sessions must not outlive the decision.
        auth_sessions.end_all(session, user.id)
    else:
        user.suspended_at = None
