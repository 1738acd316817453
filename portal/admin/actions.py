"""The admin actions a form can ask for: each names its target and the state to set."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from core.catalog.models import Space
from core.catalog.sources import SOURCE_KINDS, recognise_kind, source_address
from portal.admin.picks import check_name, next_list_id, picks_state
from portal.admin.state import ActionError, State, normalize_domain
from portal.context import current_services

Form = Mapping[str, str]
Plan = Callable[[Session, Form], tuple[str, State]]


def _id(form: Form, name: str = "id") -> str:
    value = (form.get(name) or "").strip()
    if not value.isdigit():
        raise ActionError(f"{name} must be a number", name)
    return value


def space_key(form: Form) -> str:
    """Return the number of the space a form acts on: its `space` field, else its `id`.

    A form about something else (a report) names its space in `space`, beside its `id`.
    """
    return _id(form, "space") if form.get("space") else _id(form)


def _space(form: Form) -> str:
    return f"space:{space_key(form)}"


def _topics(text: str) -> list[str]:
    return list(dict.fromkeys(t.strip().lstrip("#") for t in text.split(",") if t.strip()))


def _edit(session: Session, form: Form) -> tuple[str, State]:
    title = " ".join((form.get("title") or "").split())
    if not title or len(title) > 300:
        raise ActionError("give a title of 1 to 300 characters", "title")
    topics = _topics(form.get("topics") or "")
    state = {"title": title, "title_override": title, "topics": topics, "topics_override": topics}
    return _space(form), state


def _merge(session: Session, form: Form) -> tuple[str, State]:
    into = int(_id(form, "into"))
    if session.get(Space, into) is None:
        raise ActionError(f"there is no space {into} to keep", "into")
    return _space(form), {"merged_into": into, "hidden": True, "hidden_by": "merge"}


def _host_of_space(session: Session, form: Form) -> str:
    space = session.get(Space, int(space_key(form)))
    if space is None or space.host_id is None:
        raise ActionError("that space has no known host to ban")
    return f"host:{space.host_id}"


def _picks_add(session: Session, form: Form, *, remove: bool = False) -> tuple[str, State]:
    key = _id(form, "list")
    current = picks_state(session, key)
    if not current["exists"]:
        raise ActionError(f"there is no collection {key}", "list")
    space_id = int(_id(form, "space"))
    ids = [i for i in current["space_ids"] if i != space_id]
    return f"picks:{key}", {"space_ids": ids if remove else [*ids, space_id]}


def _source(form: Form) -> str:
    url = (form.get("url") or "").strip()
    if not url:
        raise ActionError("give the source's address", "url")
    return f"source:{url}"


def _whole(form: Form, name: str, default: int) -> int:
    text = (form.get(name) or "").strip() or str(default)
    if not text.isdigit():
        raise ActionError("give a whole number", name)
    return int(text)


def _add_source(session: Session, form: Form) -> tuple[str, State]:
    """Plan a new source: its kind recognised from the address unless one was chosen."""
    interval, depth = _whole(form, "interval_s", 300), _whole(form, "depth", 1)
    url = (form.get("url") or "").strip()
    query = " ".join((form.get("query") or "").split())
    kind = (form.get("kind") or "").strip() or recognise_kind(url)
    if kind not in SOURCE_KINDS:
        raise ActionError("choose one of the kinds offered", "kind")
    if kind == "xsearch" and not query:
        raise ActionError("an X Spaces search needs the words to search for", "query")
    if not url and kind != "xsearch":
        raise ActionError("give the source's address", "url")
    address = source_address(url, kind, query, x_api_url=current_services().config.x_api_url)
    state = {
        "exists": True,
        "kind": kind,
        "query": query,
        "interval_s": interval,
        "depth": depth,
        "paused": False,
    }
    return f"source:{address}", state


def _status(kind: str, status: str) -> Plan:
    return lambda session, form: (f"{kind}:{_id(form)}", {"status": status})


ACTIONS: dict[str, Plan] = {
    "hide": lambda s, f: (_space(f), {"hidden": True, "hidden_by": "admin"}),
    "unhide": lambda s, f: (_space(f), {"hidden": False, "hidden_by": None}),
    "feature": lambda s, f: (_space(f), {"featured": True}),
    "unfeature": lambda s, f: (_space(f), {"featured": False}),
    "pin": lambda s, f: (_space(f), {"pinned": True}),
    "unpin": lambda s, f: (_space(f), {"pinned": False}),
    "edit": _edit,
    "merge": _merge,
    "ban host": lambda s, f: (_host_of_space(s, f), {"banned": True}),
    "unban host": lambda s, f: (f"host:{_id(f)}", {"banned": False}),
    "ban domain": lambda s, f: (
        f"domain:{normalize_domain(f.get('domain', ''))}",
        {"banned": True},
    ),
    "unban domain": lambda s, f: (
        f"domain:{normalize_domain(f.get('domain', ''))}",
        {"banned": False},
    ),
    "add source": _add_source,
    "pause source": lambda s, f: (_source(f), {"paused": True}),
    "resume source": lambda s, f: (_source(f), {"paused": False}),
    "remove source": lambda s, f: (_source(f), {"exists": False}),
    "review submission": _status("submission", "reviewed"),
    "reject submission": _status("submission", "rejected"),
    "resolve report": _status("report", "resolved"),
    "approve claim": _status("claim", "approved"),
    "reject claim": _status("claim", "rejected"),
    "create picks": lambda s, f: (
        f"picks:{next_list_id(s)}",
        {"exists": True, "name": check_name(f.get("name", "")), "space_ids": []},
    ),
    "rename picks": lambda s, f: (
        f"picks:{_id(f, 'list')}",
        {"name": check_name(f.get("name", ""))},
    ),
    "delete picks": lambda s, f: (f"picks:{_id(f, 'list')}", {"exists": False}),
    "add pick": _picks_add,
    "remove pick": lambda s, f: _picks_add(s, f, remove=True),
}


def plan(session: Session, action: str, form: Form) -> tuple[str, dict[str, Any]]:
    """Return (target, state to set) for a named action; raise ActionError if unknown."""
    planner = ACTIONS.get(action)
    if planner is None:
        if not action:
            raise ActionError("choose what to do: press one of the action buttons")
        raise ActionError(f"unknown action {action[:40]!r}")
    return planner(session, form)
