"""Changing people's roles: one audit entry per change, a reason always, no self-harm."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from core.catalog import auth_sessions
from core.catalog.db import Catalog
from core.catalog.models import AuditEntry, AuthSession, User
from core.catalog.users_admin import RoleError, set_roles
from core.timeutil import utcnow


def _person(catalog: Catalog, handle: str, **roles: object) -> int:
    with catalog.session() as s:
        user = User(email=f"{handle}@example.org", password_hash="x", display_name=handle, **roles)
        user.handle = handle
        s.add(user)
        s.flush()
        return user.id


def _set(catalog: Catalog, actor_id: int | None, user_id: int, **changes: object) -> list[str]:
    with catalog.session() as s:
        actor = s.get(User, actor_id) if actor_id is not None else None
        user = s.get(User, user_id)
        assert user is not None
        return [c.action for c in set_roles(s, actor, user, **changes)]  # type: ignore[arg-type]


def _user(catalog: Catalog, user_id: int) -> User:
    with catalog.sessions() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user


def _log(catalog: Catalog) -> list[AuditEntry]:
    with catalog.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_each_change_is_one_entry_with_before_after_and_reason(catalog: Catalog) -> None:
    ada = _person(catalog, "ada", is_admin=True)
    ann = _person(catalog, "ann")
    done = _set(
        catalog, ada, ann, host=True, admin=True, protected=False, reason=" Runs  the club "
    )
    assert done == ["grant host", "grant admin"]  # protected was already off: no entry
    entries = _log(catalog)
    assert [(e.action, e.target, e.actor_id, e.reason) for e in entries] == [
        ("grant host", f"user:{ann}", ada, "Runs the club"),
        ("grant admin", f"user:{ann}", ada, "Runs the club"),
    ]
    assert (entries[0].before, entries[0].after) == ({"is_host": False}, {"is_host": True})
    ann_now = _user(catalog, ann)
    assert ann_now.is_host and ann_now.is_admin and ann_now.can_host

    assert _set(catalog, ada, ann, host=True, reason="again") == []
    assert len(_log(catalog)) == 2


def test_a_reason_is_required(catalog: Catalog) -> None:
    ann = _person(catalog, "ann")
    for reason in ("", "   ", None):
        with pytest.raises(RoleError) as refused:
            _set(catalog, None, ann, host=True, reason=reason)
        assert refused.value.field == "reason"
        assert "say why" in str(refused.value)
    assert not _user(catalog, ann).is_host
    assert _log(catalog) == []


def test_an_admin_cannot_unmake_or_suspend_themselves(catalog: Catalog) -> None:
    ada = _person(catalog, "ada", is_admin=True)
    with pytest.raises(RoleError, match="your own admin role"):
        _set(catalog, ada, ada, admin=False, reason="oops")
    with pytest.raises(RoleError, match="suspend your own account"):
        _set(catalog, ada, ada, suspended=True, reason="oops")
    assert _user(catalog, ada).is_admin and _user(catalog, ada).suspended_at is None
    # Another admin, or the command line, may.
    assert _set(catalog, None, ada, admin=False, reason="left the team") == ["take admin"]
    [entry] = _log(catalog)
    assert entry.actor_id is None and entry.after == {"is_admin": False, "via": "command line"}


def test_protecting_a_host_stops_hosting_at_once_and_a_protected_one_is_not_made_host(
    catalog: Catalog,
) -> None:
    hal = _person(catalog, "hal", is_host=True)
    assert _user(catalog, hal).can_host
    assert _set(catalog, None, hal, protected=True, reason="a minor") == ["protect account"]
    assert not _user(catalog, hal).can_host
    kim = _person(catalog, "kim", protected=True)
    with pytest.raises(RoleError, match="protected, and a protected account never hosts"):
        _set(catalog, None, kim, host=True, reason="asked")
    assert not _user(catalog, kim).is_host
    # Lifting the protection in the same change lets it host.
    assert _set(catalog, None, kim, protected=False, host=True, reason="now adult") == [
        "grant host",
        "unprotect account",
    ]
    assert _user(catalog, kim).can_host


def test_suspending_ends_every_session_and_stops_hosting(catalog: Catalog) -> None:
    hal = _person(catalog, "hal", is_host=True)
    other = _person(catalog, "oli")
    with catalog.session() as s:
        for who in (hal, hal, other):
            auth_sessions.start(s, who, user_agent="test", address="127.0.0.1", now=utcnow())
    assert _set(catalog, None, hal, suspended=True, reason="spam rooms") == ["suspend account"]
    hal_now = _user(catalog, hal)
    assert hal_now.suspended_at is not None and not hal_now.can_host
    assert hal_now.suspended_at > utcnow() - timedelta(minutes=1)
    with catalog.sessions() as s:
        owners = list(s.scalars(select(AuthSession.user_id)))
    assert owners == [other]
    assert _set(catalog, None, hal, suspended=False, reason="appeal upheld") == ["restore account"]
    assert _user(catalog, hal).suspended_at is None and _user(catalog, hal).can_host
    assert [e.after.get("suspended") for e in _log(catalog)] == [True, False]
