"""The audit log told as sentences: "Ada banned host @bob: spam", with what changed.

Entries store targets as "kind:key" and states as JSON; this module names the people,
spaces, hosts and collections behind them (loaded in a few queries for a whole page) and
says what happened in words, with each changed field as old → new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import (
    AuditEntry,
    Host,
    HostClaim,
    PickList,
    Report,
    Space,
    Submission,
    User,
)
from portal.admin.wording import FIELDS, INVERSE, VERBS, undone_as


@dataclass(frozen=True)
class Named:
    """Someone or something a sentence names: its label, its page if any, a detail."""

    label: str
    url: str = ""
    detail: str = ""


Part = str | Named


@dataclass(frozen=True)
class Change:
    """One field an action changed, with its value before and after, as words."""

    field: str
    old: str
    new: str


@dataclass(frozen=True)
class Line:
    """One audit entry as a sentence: the actor, then the parts, then the reason."""

    entry: AuditEntry
    actor: Named
    parts: tuple[Part, ...]
    reason: str
    changes: tuple[Change, ...]
    #: The target in words ("@bob"), and the action undoing this entry would amount to.
    subject: str = ""
    undo_as: str = ""

    def text(self) -> str:
        """Return the sentence as plain text."""
        body = "".join(p if isinstance(p, str) else p.label for p in self.parts)
        return f"{self.actor.label} {body}: {self.reason}"


def _ints(values: Iterable[Any]) -> set[int]:
    return {int(v) for v in values if isinstance(v, int) or (isinstance(v, str) and v.isdigit())}


def _key(target: str) -> tuple[str, str]:
    kind, _, key = target.partition(":")
    return kind, key


class Names:
    """The people and things a page of audit entries names, loaded once."""

    def __init__(self, session: Session, entries: list[AuditEntry]) -> None:
        keys: dict[str, set[str]] = {}
        space_ids: set[int] = set()
        for entry in entries:
            kind, key = _key(entry.target)
            keys.setdefault(kind, set()).add(key)
            for state in (entry.before or {}, entry.after or {}):
                space_ids |= _ints([state.get("merged_into"), *(state.get("space_ids") or [])])

        def load(model: Any, kind: str) -> dict[int, Any]:
            ids = _ints(keys.get(kind, ()))
            if not ids:
                return {}
            return {row.id: row for row in session.scalars(select(model).where(model.id.in_(ids)))}

        self.reports: dict[int, Report] = load(Report, "report")
        self.claims: dict[int, HostClaim] = load(HostClaim, "claim")
        self.submissions: dict[int, Submission] = load(Submission, "submission")
        self.pick_lists: dict[int, PickList] = load(PickList, "picks")
        space_ids |= _ints(keys.get("space", ())) | {r.space_id for r in self.reports.values()}
        self.spaces: dict[int, Space] = {
            s.id: s for s in session.scalars(select(Space).where(Space.id.in_(space_ids))).unique()
        }
        host_ids = _ints(keys.get("host", ())) | {c.host_id for c in self.claims.values()}
        self.hosts: dict[int, Host] = {
            h.id: h for h in session.scalars(select(Host).where(Host.id.in_(host_ids)))
        }
        user_ids = {e.actor_id for e in entries if e.actor_id is not None}
        user_ids |= {c.user_id for c in self.claims.values()} | _ints(keys.get("user", ()))
        self.users: dict[int, User] = {
            u.id: u for u in session.scalars(select(User).where(User.id.in_(user_ids)))
        }

    def user(self, user_id: int | None) -> Named:
        """Name a person by their display name, with their handle and email beside it."""
        if user_id is None:
            return Named("The system")
        user = self.users.get(user_id)
        if user is None:
            return Named("A deleted account")
        detail = " · ".join([f"@{user.handle}", user.email])
        # Every account has a page under its handle, hosted or not.
        page = url_for("pages.host", handle=user.handle)
        return Named(user.display_name or user.email, page, detail)

    def account(self, user_id: int) -> Named:
        """Name an account an action was about by handle, linked to its admin page."""
        user = self.users.get(user_id)
        if user is None:
            return Named(f"account #{user_id} (since deleted)")
        return Named(f"@{user.handle}", url_for("admin.user", user_id=user.id), user.email)

    def space(self, space_id: int) -> Named:
        """Name a space by its title, linked to its page (its admin card once hidden)."""
        space = self.spaces.get(space_id)
        if space is None:
            return Named(f"#{space_id} (since deleted)")
        label = f"“{space.title}”" if space.title else f"#{space.id} (untitled)"
        if space.hidden:
            return Named(label, url_for("admin.spaces", q=space.id), "hidden")
        return Named(label, url_for("pages.space", space_id=space.id))

    def host(self, host_id: int) -> Named:
        """Name a host by handle, linked to their page, with their name beside it."""
        host = self.hosts.get(host_id)
        if host is None:
            return Named(f"#{host_id} (since deleted)")
        return Named(f"@{host.handle}", url_for("pages.host", handle=host.handle), host.name)

    def picks(self, key: str, entry: AuditEntry) -> Named:
        """Name a collection by its name, or the name it had when it was deleted."""
        found = self.pick_lists.get(int(key)) if key.isdigit() else None
        was = (entry.before or {}).get("name") or (entry.after or {}).get("name")
        name = found.name if found else was or f"#{key}"
        return Named(f"“{name}”", url_for("admin.pick_lists") if found else "")


def _target(names: Names, entry: AuditEntry) -> tuple[Part, ...]:
    kind, key = _key(entry.target)
    number = int(key) if key.isdigit() else 0
    if kind == "space":
        return (names.space(number),)
    if kind == "host":
        return (names.host(number),)
    if kind == "domain":
        return (Named(key, url_for("admin.spaces", q=key)),)
    if kind == "source":
        return (Named(key, url_for("admin.sources")),)
    if kind == "picks":
        return (names.picks(key, entry),)
    if kind == "index":
        return ("the search index",)
    if kind == "user":
        return (names.account(number),)
    if kind == "setting":
        return (_SETTINGS.get(key, key),)
    if kind == "submission":
        submission = names.submissions.get(number)
        return (Named(submission.url if submission else f"#{key}"),)
    if kind == "report":
        report = names.reports.get(number)
        if report is None:
            return (f"#{key}",)
        return (names.space(report.space_id), f" (reported as {report.reason})")
    if kind == "claim":
        claim = names.claims.get(number)
        if claim is None:
            return (f"#{key}",)
        return (names.host(claim.host_id), " by ", names.user(claim.user_id))
    return (entry.target,)


#: The admins' settings, as the log names them.
_SETTINGS = {"hosts_auto_approve": "approving every request to host at once"}
#: Who did it, for entries with no admin: what `after["via"]` says.
_VIA = {"command line": "Someone at the command line", "setting": "The admins' setting"}


def _actor(names: Names, entry: AuditEntry) -> Named:
    via = (entry.after or {}).get("via") if entry.actor_id is None else None
    return Named(_VIA[via]) if via in _VIA else names.user(entry.actor_id)


def _action(entry: AuditEntry) -> tuple[str, int]:
    """Return the action an entry amounts to (an undo's is the inverse) and undo depth."""
    action, depth = entry.action, 0
    while action.startswith("undo "):
        action, depth = action[5:], depth + 1
    for _ in range(depth % 2):
        action = INVERSE.get(action, action)
    return action, depth


def _picks_change(names: Names, entry: AuditEntry) -> tuple[str, Named | None]:
    before = set(_ints((entry.before or {}).get("space_ids") or []))
    after = set(_ints((entry.after or {}).get("space_ids") or []))
    changed = (after - before) or (before - after)
    space = names.space(min(changed)) if changed else None
    return ("added" if after - before else "removed"), space


def _parts(names: Names, entry: AuditEntry) -> tuple[Part, ...]:
    action, depth = _action(entry)
    target = _target(names, entry)
    if action in ("add pick", "remove pick"):
        how, space = _picks_change(names, entry)
        joint = " to the collection " if how == "added" else " from the collection "
        parts: tuple[Part, ...] = (f"{how} ", space or "a space", joint, *target)
    elif action == "merge":
        into = (entry.after or {}).get("merged_into")
        kept: Part = names.space(int(into)) if isinstance(into, int) else "another space"
        parts = ("merged the space ", *target, " into ", kept)
    else:
        verb = VERBS.get(action, f"did “{action}” to")
        parts = (f"{verb} ", *target)
    if depth and entry.undo_of is not None:
        parts = (*parts, " (undoing ", Named(f"#{entry.undo_of}", f"#entry-{entry.undo_of}"), ")")
    return parts


def _words(names: Names, field: str, value: Any) -> str:
    if value is None or value == []:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if field == "merged_into" and isinstance(value, int):
        return names.space(value).label
    if field == "space_ids" and isinstance(value, list):
        return ", ".join(names.space(int(v)).label for v in value)
    if field == "interval_s":
        return f"{value} s"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def changes(names: Names, entry: AuditEntry) -> tuple[Change, ...]:
    """Return the fields the entry changed, old → new, in words."""
    before, after = entry.before or {}, entry.after or {}
    found = []
    for field, label in FIELDS.items():
        if field in after and before.get(field) != after.get(field):
            old, new = _words(names, field, before.get(field)), _words(names, field, after[field])
            if old != new:
                found.append(Change(label, old, new))
    return tuple(found)


def lines(session: Session, entries: list[AuditEntry]) -> list[Line]:
    """Return the entries as sentences, in the order given (needs a request context)."""
    names = Names(session, entries)
    found = []
    for entry in entries:
        subject = "".join(p if isinstance(p, str) else p.label for p in _target(names, entry))
        parts = _parts(names, entry)
        undo_as = undone_as(_action(entry)[0])
        found.append(
            Line(
                entry,
                _actor(names, entry),
                parts,
                entry.reason,
                changes(names, entry),
                subject,
                undo_as,
            )
        )
    return found


def target_name(session: Session, target: str) -> tuple[Part, ...]:
    """Return the words naming one target ("space:12"), for the log's filtered view."""
    probe = AuditEntry(action="", target=target, reason="", before={}, after={})
    return _target(Names(session, [probe]), probe)
