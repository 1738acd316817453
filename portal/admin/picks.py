"""Editor's picks: named collections of spaces shown on the home page."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.catalog.models import PickItem, PickList, Space
from core.timeutil import utcnow
from portal.admin.state import ActionError, State

MAX_NAME = 120
HOME_LISTS = 3
HOME_ITEMS = 8


def check_name(name: str) -> str:
    """Return a pick list's name tidied; raise ActionError if it is empty or too long."""
    clean = " ".join((name or "").split())
    if not clean or len(clean) > MAX_NAME:
        raise ActionError(f"give the collection a name of 1 to {MAX_NAME} characters", "name")
    return clean


def picks_state(session: Session, key: str) -> State:
    """Return a pick list's name and spaces, or that it does not exist."""
    found = session.get(PickList, int(key)) if key.isdigit() else None
    if found is None:
        return {"exists": False}
    return {
        "exists": True,
        "name": found.name,
        "space_ids": [item.space_id for item in found.items],
    }


def set_picks(session: Session, key: str, state: State) -> None:
    """Create, rename, refill or delete a pick list (by id, so undo restores the same one)."""
    if not key.isdigit():
        raise ActionError(f"there is no collection {key}")
    found = session.get(PickList, int(key))
    if not state.get("exists", True):
        if found is not None:
            session.delete(found)
        return
    if found is None:
        found = PickList(id=int(key), name="", position=0, created_at=utcnow())
        session.add(found)
    if "name" in state:
        found.name = check_name(state["name"])
    if "space_ids" in state:
        ids = list(dict.fromkeys(int(i) for i in state["space_ids"]))
        existing = set(session.scalars(select(Space.id).where(Space.id.in_(ids))))
        missing = [i for i in ids if i not in existing]
        if missing:
            raise ActionError(f"there is no space {missing[0]}")
        found.items.clear()
        session.flush()
        found.items.extend(PickItem(space_id=i, position=n) for n, i in enumerate(ids))


def next_list_id(session: Session) -> int:
    """Return the id a new pick list will get."""
    return (session.scalar(select(PickList.id).order_by(PickList.id.desc()).limit(1)) or 0) + 1


def all_lists(session: Session) -> list[PickList]:
    """Return every pick list, newest first."""
    rows = session.scalars(select(PickList).order_by(PickList.position, PickList.id.desc()))
    return list(rows.unique())


def home_picks(session: Session) -> list[tuple[PickList, list[Space]]]:
    """Return the pick lists for the home page with their visible spaces, in order."""
    shown = []
    for pick_list in all_lists(session)[:HOME_LISTS]:
        ids = [item.space_id for item in pick_list.items]
        spaces = {
            s.id: s
            for s in session.scalars(
                select(Space).where(Space.id.in_(ids), Space.hidden.is_(False))
            ).unique()
        }
        visible = [spaces[i] for i in ids if i in spaces][:HOME_ITEMS]
        if visible:
            shown.append((pick_list, visible))
    return shown
