"""Actions that take something away from people, and what to tell the admin before one.

Hiding, banning, merging and removing are undone only from the audit log, and listeners
notice them at once; so the page asks first: in a dialog when scripts run, and on a
confirmation page of its own when they do not (the server never does one unasked).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.models import Host, PickList, Space
from portal.admin.actions import Form
from portal.admin.state import normalize_domain, spaces_on_domain

#: action: (question, what happens, the confirming button's label). {subject} is what it
#: acts on, as the admin knows it; {spaces} says how many spaces it takes with it.
DESTRUCTIVE: dict[str, tuple[str, str, str]] = {
    "hide": (
        "Hide {subject}?",
        "It leaves search, the feeds, the API and its own page at once.",
        "Hide space",
    ),
    "ban host": (
        "Ban host {subject}?",
        "Their spaces ({spaces} now) are hidden at once, and every space of theirs"
        " found later is hidden too.",
        "Ban host",
    ),
    "ban domain": (
        "Ban the domain {subject}?",
        "Every space on it or its subdomains ({spaces} now) is hidden, and the crawler"
        " stops following links to it.",
        "Ban domain",
    ),
    "merge": (
        "Merge {subject} into another space?",
        "It is hidden, its page sends people to the kept space, and its shares move there.",
        "Merge",
    ),
    "remove source": (
        "Remove the crawl source {subject}?",
        "It is no longer crawled, and its figures are dropped.",
        "Remove source",
    ),
    "delete picks": (
        "Delete the collection {subject}?",
        "It leaves the home page, with its list of spaces.",
        "Delete collection",
    ),
}


@dataclass(frozen=True)
class Caution:
    """What a destructive action will do, in the words the confirmation shows."""

    action: str
    question: str
    consequence: str
    button: str


def warning(action: str, subject: str, count: int | None = None) -> Caution | None:
    """Return the warning for a destructive action, or None if the action is not one."""
    found = DESTRUCTIVE.get(action)
    if found is None:
        return None
    question, consequence, button = found
    spaces = "a few" if count is None else ("1 space" if count == 1 else f"{count} spaces")
    return Caution(
        action, question.format(subject=subject), consequence.format(spaces=spaces), button
    )


def _space_name(space: Space | None, key: str) -> str:
    if space is None:
        return f"space #{key}"
    return f"“{space.title}”" if space.title else f"space #{space.id}"


def _host_spaces(session: Session, host_id: int) -> int:
    query = select(func.count(Space.id)).where(Space.host_id == host_id, Space.hidden.is_(False))
    return int(session.scalar(query) or 0)


def warning_for_form(session: Session, action: str, form: Form) -> Caution | None:
    """Return the warning for the action a form asks for, naming what it acts on."""
    if action not in DESTRUCTIVE:
        return None
    key = (form.get("space") or form.get("id") or "").strip()
    space = session.get(Space, int(key)) if key.isdigit() else None
    if action in ("hide", "merge"):
        return warning(action, _space_name(space, key))
    if action == "ban host":
        host = session.get(Host, space.host_id) if space and space.host_id else None
        if host is None:
            return warning(action, "of this space")
        return warning(action, f"@{host.handle}", _host_spaces(session, host.id))
    if action == "ban domain":
        domain = normalize_domain(form.get("domain", ""))
        return warning(action, domain, domain_space_count(session, domain))
    if action == "remove source":
        return warning(action, (form.get("url") or "").strip())
    list_key = (form.get("list") or "").strip()
    picks = session.get(PickList, int(list_key)) if list_key.isdigit() else None
    return warning(action, f"“{picks.name}”" if picks else f"#{list_key}")


def domain_space_count(session: Session, domain: str) -> int:
    """Return how many visible spaces a ban of `domain` would hide (subdomains included)."""
    return sum(1 for space in spaces_on_domain(session, domain) if not space.hidden)
