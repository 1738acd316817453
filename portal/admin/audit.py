"""Do an admin action, log it with its reason and the state before and after, undo it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.curation import add_audit_entry
from core.catalog.models import AuditEntry
from portal.admin.picks import picks_state, set_picks
from portal.admin.state import KINDS, ActionError, State

MAX_REASON = 1000
_ALL_KINDS = {**KINDS, "picks": (picks_state, set_picks)}
#: Actions that change nothing that can be set back (a crawl that already ran).
NOT_UNDOABLE = frozenset({"recrawl source", "reindex"})


def check_reason(reason: str | None) -> str:
    """Return the reason tidied; raise ActionError if there is none."""
    text = " ".join((reason or "").split())
    if not text:
        raise ActionError("say why: every admin action needs a reason for the audit log", "reason")
    if len(text) > MAX_REASON:
        raise ActionError(f"keep the reason under {MAX_REASON} characters", "reason")
    return text


def _split(target: str) -> tuple[str, str]:
    kind, _, key = target.partition(":")
    if kind not in _ALL_KINDS or not key:
        raise ActionError(f"cannot act on {target[:80]!r}")
    return kind, key


def act(
    session: Session,
    actor_id: int | None,
    action: str,
    target: str,
    reason: str | None,
    after: State,
) -> AuditEntry:
    """Set `target` to the state `after`, and log who did it, why, and what it was before."""
    why = check_reason(reason)
    kind, key = _split(target)
    read, write = _ALL_KINDS[kind]
    full = read(session, key)
    # Undoing a removal needs everything there was; otherwise only what is changed.
    removing = after.get("exists", True) is False
    keep_all = removing or not full.get("exists", True)
    before = full if keep_all else {name: full.get(name) for name in after}
    write(session, key, after)
    return add_audit_entry(session, actor_id, action, target, why, before, dict(after))


def log_only(
    session: Session, actor_id: int | None, action: str, target: str, reason: str | None
) -> AuditEntry:
    """Log an action that changes no state (a recrawl, a reindex)."""
    return add_audit_entry(session, actor_id, action, target, check_reason(reason), {}, {})


def undo(session: Session, actor_id: int | None, entry_id: int, reason: str | None) -> AuditEntry:
    """Apply the inverse of a logged action, log that too, and link the two entries."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        raise ActionError(f"there is no audit entry {entry_id}")
    if entry.undone_by is not None:
        raise ActionError(f"entry {entry_id} was already undone by entry {entry.undone_by}")
    if entry.action in NOT_UNDOABLE:
        raise ActionError(f"a {entry.action} cannot be undone")
    inverse = act(
        session, actor_id, f"undo {entry.action}"[:40], entry.target, reason, dict(entry.before)
    )
    inverse.undo_of = entry.id
    entry.undone_by = inverse.id
    return inverse


def recent(session: Session, *, target: str | None = None, limit: int = 100) -> list[AuditEntry]:
    """Return the latest audit entries, newest first, optionally for one target."""
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if target:
        query = query.where(AuditEntry.target == target)
    return list(session.scalars(query))
