"""Asking to host: one request at a time, decisions logged and told, the approve-at-once setting."""

from __future__ import annotations

import pytest
import redis
from sqlalchemy import select

from core.catalog.db import Catalog
from core.catalog.host_requests import (
    AT_ONCE,
    RequestRefused,
    ask,
    auto_approve,
    decide,
    latest_for,
    pending,
    set_auto_approve,
)
from core.catalog.models import AuditEntry, HostRequest, Notification, User
from core.catalog.users_admin import RoleError, set_roles
from core.services import Services


def _person(catalog: Catalog, handle: str, **roles: object) -> int:
    with catalog.session() as s:
        user = User(
            email=f"{handle}@example.org", password_hash="x", display_name=handle.title(), **roles
        )
        user.handle = handle
        s.add(user)
        s.flush()
        return user.id


def _ask(catalog: Catalog, user_id: int, reason: str, *, at_once: bool = False) -> int:
    with catalog.session() as s:
        user = s.get(User, user_id)
        assert user is not None
        return ask(s, user, reason, at_once=at_once).id


def _decide(catalog: Catalog, request_id: int, actor_id: int, approve: bool, note: str) -> None:
    with catalog.session() as s:
        decide(s, request_id, s.get(User, actor_id), approve, note)


def _notices(catalog: Catalog, user_id: int) -> list[tuple[str, str, str, str]]:
    with catalog.sessions() as s:
        rows = s.scalars(select(Notification).where(Notification.user_id == user_id))
        return [(n.kind, n.text, n.link, n.dedupe) for n in rows]


def _log(catalog: Catalog) -> list[AuditEntry]:
    with catalog.sessions() as s:
        return list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _can_host(catalog: Catalog, user_id: int) -> bool:
    with catalog.sessions() as s:
        user = s.get(User, user_id)
        assert user is not None
        return user.can_host


def test_an_approved_request_makes_a_host_and_tells_them(catalog: Catalog) -> None:
    ann = _person(catalog, "ann")
    ada = _person(catalog, "ada", is_admin=True)
    request_id = _ask(catalog, ann, "  Weekly   jazz talks\nwith friends ")
    with catalog.sessions() as s:
        [(waiting, who)] = pending(s)
    assert (waiting.reason, waiting.status, who.handle) == (
        "Weekly jazz talks with friends",
        "pending",
        "ann",
    )
    assert not _can_host(catalog, ann)

    _decide(catalog, request_id, ada, True, "")

    assert _can_host(catalog, ann)
    with catalog.sessions() as s:
        assert pending(s) == []
        decided = latest_for(s, ann)
    assert decided is not None
    assert (decided.status, decided.decided_by) == ("approved", ada)
    assert decided.decided_at is not None
    [entry] = _log(catalog)
    assert (entry.actor_id, entry.action, entry.target) == (
        ada,
        "approve host request",
        f"user:{ann}",
    )
    assert entry.before["is_host"] is False and entry.after["is_host"] is True
    assert "Weekly jazz talks" in entry.reason  # no note: the log keeps what they asked
    assert _notices(catalog, ann) == [
        (
            "decision",
            "You are a host now: open rooms from your host dashboard.",
            "/account/settings",
            f"host-request:{request_id}",
        )
    ]


def test_a_refusal_needs_a_note_which_the_person_reads_and_they_may_ask_again(
    catalog: Catalog,
) -> None:
    ann = _person(catalog, "ann")
    ada = _person(catalog, "ada", is_admin=True)
    first = _ask(catalog, ann, "Talks")
    with pytest.raises(RequestRefused) as refused:
        _decide(catalog, first, ada, False, "   ")
    assert refused.value.field == "note"
    _decide(catalog, first, ada, False, "Tell us more about the talks.")
    assert not _can_host(catalog, ann)
    [(kind, text, _, dedupe)] = _notices(catalog, ann)
    assert (
        text == "Your request to host was refused: Tell us more about the talks. You may ask again."
    )
    assert (kind, dedupe) == ("decision", f"host-request:{first}")
    [entry] = _log(catalog)
    assert (entry.action, entry.reason) == ("refuse host request", "Tell us more about the talks.")
    with pytest.raises(RequestRefused, match="refused already"):
        _decide(catalog, first, ada, True, "")

    second = _ask(catalog, ann, "Jazz talks, every Friday at noon")
    assert second != first
    with catalog.sessions() as s:
        assert [r.id for r, _ in pending(s)] == [second]


def test_one_request_waits_at_a_time_and_a_reason_is_needed(catalog: Catalog) -> None:
    ann = _person(catalog, "ann")
    with pytest.raises(RequestRefused) as empty:
        _ask(catalog, ann, " \n ")
    assert empty.value.field == "reason"
    with pytest.raises(RequestRefused) as long:
        _ask(catalog, ann, "x" * 501)
    assert long.value.field == "reason" and "500" in str(long.value)
    _ask(catalog, ann, "x" * 500)
    with pytest.raises(RequestRefused, match="waiting for an admin"):
        _ask(catalog, ann, "Again")
    with catalog.sessions() as s:
        assert len(list(s.scalars(select(HostRequest)))) == 1


def test_hosts_protected_and_suspended_accounts_are_refused_with_a_reason(
    catalog: Catalog,
) -> None:
    host = _person(catalog, "hal", is_host=True)
    kept = _person(catalog, "kim", protected=True)
    with pytest.raises(RequestRefused, match="host already"):
        _ask(catalog, host, "More rooms")
    with pytest.raises(RequestRefused, match="protected: it can join and listen, but never host"):
        _ask(catalog, kept, "Please")
    ann = _person(catalog, "ann")
    with catalog.session() as s:
        set_roles(s, None, s.get(User, ann), suspended=True, reason="spam")
    with pytest.raises(RequestRefused, match="This account is suspended"):
        _ask(catalog, ann, "Please")


def test_a_request_of_someone_protected_since_cannot_be_approved(catalog: Catalog) -> None:
    ann = _person(catalog, "ann")
    ada = _person(catalog, "ada", is_admin=True)
    request_id = _ask(catalog, ann, "Talks")
    with catalog.session() as s:
        set_roles(s, s.get(User, ada), s.get(User, ann), protected=True, reason="a minor")
    with pytest.raises(RequestRefused, match="protected or suspended"):
        _decide(catalog, request_id, ada, True, "")
    assert not _can_host(catalog, ann)


def test_the_setting_approves_at_once_and_logs_it(services: Services) -> None:
    catalog = services.catalog
    ann = _person(catalog, "ann")
    ada = _person(catalog, "ada", is_admin=True)
    assert auto_approve(services.redis) is False
    with catalog.session() as s, pytest.raises(RoleError) as unexplained:
        set_auto_approve(s, services.redis, s.get(User, ada), True, "")
    assert unexplained.value.field == "reason"
    assert auto_approve(services.redis) is False
    with catalog.session() as s:
        assert set_auto_approve(s, services.redis, s.get(User, ada), True, "A launch week")
    assert auto_approve(services.redis) is True

    request_id = _ask(catalog, ann, "Talks", at_once=auto_approve(services.redis))

    assert _can_host(catalog, ann)
    setting, approval = _log(catalog)
    assert (setting.action, setting.target, setting.actor_id) == (
        "turn on setting",
        "setting:hosts_auto_approve",
        ada,
    )
    assert (approval.actor_id, approval.action, approval.reason) == (
        None,
        "approve host request",
        AT_ONCE,
    )
    assert approval.after["via"] == "setting"
    [(kind, text, _, dedupe)] = _notices(catalog, ann)
    assert (kind, dedupe) == ("decision", f"host-request:{request_id}")
    assert "You are a host now" in text


def test_the_setting_is_not_read_from_a_dead_redis(services: Services) -> None:
    dead = redis.Redis(host="127.0.0.1", port=9, socket_connect_timeout=0.5)
    with pytest.raises(redis.RedisError):
        auto_approve(dead)
