"""Planning and claiming deliveries, on SQLite and on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from core.catalog import deliveries
from core.catalog.models import Notification, PushDevice, User
from core.catalog.notifications import notify_person
from core.catalog.people import set_choice
from core.services import Services
from core.timeutil import utcnow


def test_a_notice_is_planned_once_and_claimed_once_with_what_sending_needs(
    any_services: Services,
) -> None:
    services = any_services
    now = utcnow()
    with services.catalog.session() as session:
        user = User(email="ann@example.org", password_hash="-", handle="ann")
        user.email_verified_at = now
        session.add(user)
        session.flush()
        set_choice(session, user.id, "decision", "both")
        for n in range(2):
            session.add(
                PushDevice(
                    user_id=user.id, endpoint=f"https://push.example/{n}", p256dh="k", auth="a"
                )
            )
        notify_person(session, user.id, "decision", "You can host now", link="/host/")
        session.flush()
        notice_id = session.scalar(select(Notification.id))
        user_id = user.id

    with services.catalog.session() as session:
        assert deliveries.plan(session, [notice_id], now) == 3  # two browsers and the inbox
    with services.catalog.session() as session:
        assert deliveries.plan(session, [notice_id], now) == 0  # planned already
    with services.catalog.session() as session:
        claimed = deliveries.claim(session, [notice_id], now)
    with services.catalog.session() as session:
        assert deliveries.claim(session, [notice_id], now) == []  # another worker gets none

    assert sorted(item.channel for item in claimed) == ["email", "push", "push"]
    assert {item.device.endpoint for item in claimed if item.device} == {
        "https://push.example/0",
        "https://push.example/1",
    }
    for item in claimed:
        assert item.attempts == 1
        assert (item.user.id, item.user.email) == (user_id, "ann@example.org")
        assert (item.notification.text, item.notification.link) == ("You can host now", "/host/")
        assert item.notification.kind == "decision"
