"""Notices reach people by Web Push and email from the worker, once each, as they chose.

A local push service checks every VAPID signature and decrypts every payload with the
subscription's own keys; a local SMTP server receives the mail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select, update

from bench.peers.push_service import PushService
from bench.peers.smtp_sink import SmtpSink
from core import metrics, queues
from core.catalog.follows import follow
from core.catalog.models import Delivery, Notification, PushDevice, Reminder, Space, User
from core.catalog.notifications import notify_person
from core.catalog.people import set_choice
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import record_observation, upsert_space
from core.catalog.states import State
from core.services import Services
from core.timeutil import utcnow
from portal.accounts.users import create_user
from worker import context, delivery
from worker.run import HeartbeatWorker


@pytest.fixture
def notify_services(services: Services, sink: SmtpSink) -> Iterator[Services]:
    config = services.config.with_(smtp_url=sink.url, crawl_allow=("127.0.0.1",))
    installed = context.install(dataclasses.replace(services, config=config))
    yield installed
    context.reset()


def person(services: Services, handle: str, *, verified: bool = True, **choices: str) -> int:
    with services.catalog.session() as session:
        user = create_user(session, f"{handle}@example.org", "correct horse 1", handle=handle)
        if verified:
            user.email_verified_at = utcnow()
        session.flush()
        for trigger, choice in choices.items():
            set_choice(session, user.id, trigger, choice)
        return user.id


def device(services: Services, push_service: PushService, user_id: int) -> str:
    sub = push_service.subscribe()
    with services.catalog.session() as session:
        session.add(
            PushDevice(
                user_id=user_id,
                endpoint=sub["endpoint"],
                p256dh=sub["keys"]["p256dh"],
                auth=sub["keys"]["auth"],
                label="Test browser",
            )
        )
    return sub["endpoint"]


def space(services: Services, *, state: State = State.SCHEDULED, **extra) -> int:
    record = SpaceRecord(
        url=f"http://rooms.test/s/{extra.pop('room', 'r1')}",
        platform="rooms",
        title="Night jazz",
        state=state,
        host_name="Ella F",
        host_handle="ella",
        **extra,
    )
    with services.catalog.session() as session:
        return upsert_space(session, record).id


def go_live(services: Services, space_id: int) -> None:
    with services.catalog.session() as session:
        found = session.get(Space, space_id)
        record_observation(session, found, Observation(state=State.LIVE, listener_count=3))


def run_worker(services: Services) -> None:
    names = (queues.SCHEDULE, queues.NOTIFY)
    qs = [Queue(name, connection=services.redis) for name in names]
    HeartbeatWorker(qs, connection=services.redis, ttl_s=30).work(burst=True)


def statuses(services: Services) -> list[tuple[str, str]]:
    with services.catalog.sessions() as session:
        rows = session.execute(select(Delivery.channel, Delivery.status).order_by(Delivery.id))
        return [tuple(row) for row in rows]


def test_a_followed_host_going_live_reaches_each_device_and_inbox_as_chosen(
    notify_services, push_service, sink
) -> None:
    services = notify_services
    pusher = person(services, "pia")  # the default for follows: push
    both = person(services, "bob", follow="both")
    quiet = person(services, "quinn", follow="app")
    mailer = person(services, "mae", follow="email", verified=False)
    phone, laptop = device(services, push_service, pusher), device(services, push_service, pusher)
    bos = device(services, push_service, both)
    device(services, push_service, quiet)
    with services.catalog.session() as session:
        for user_id in (pusher, both, quiet, mailer):
            follow(session, user_id, "ella")
    space_id = space(services)

    go_live(services, space_id)
    delivery.dispatch_notifications()  # the schedule's tick, every couple of seconds
    run_worker(services)

    pushes = push_service.wait_for(3)
    assert sorted(m.subscription for m in pushes) == sorted(
        PushService._id(e) for e in (phone, laptop, bos)
    )
    for message in pushes:
        assert message.data["body"] == "Ella F, whom you follow, is live: Night jazz"
        assert message.data["url"].endswith(f"/spaces/{space_id}")
        assert message.headers["Content-Encoding"] == "aes128gcm"
        assert message.claims["sub"]
    [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ("bob@example.org",)
    assert "Ella F, whom you follow, is live: Night jazz" in mail.text
    assert f"/spaces/{space_id}" in mail.text
    assert mail.message["List-Unsubscribe"].startswith("<http")
    assert mail.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/me/settings" in mail.text
    # Unverified addresses get no mail; in-app only gets nothing outside.
    assert ("email", "skipped") in statuses(services)

    # The same change seen again, and the same jobs run again, send nothing more.
    go_live(services, space_id)
    with services.catalog.sessions() as session:
        ids = list(session.scalars(select(Notification.id)))
    delivery.deliver(ids)
    run_worker(services)
    assert len(push_service.received()) == 3 and len(sink.messages) == 1
    assert metrics.delivery_counts(services.redis)[("push", "sent")] == 3
    with services.catalog.sessions() as session:
        used = session.scalars(select(PushDevice.last_used_at).where(PushDevice.user_id == pusher))
        assert all(at is not None for at in used)


def test_failures_retry_with_back_off_and_gone_devices_are_dropped(
    notify_services, push_service
) -> None:
    services = notify_services
    user = person(services, "pia")
    kept, gone = device(services, push_service, user), device(services, push_service, user)
    push_service.mark_gone(gone)
    push_service.fail_next(503, 2)  # one each: the gone device answers 410 whatever
    with services.catalog.session() as session:
        notify_person(session, user, "follow", "Ella is live", link="/spaces/1")
    delivery.dispatch_notifications()
    run_worker(services)

    with services.catalog.sessions() as session:
        assert session.scalars(select(PushDevice.endpoint)).all() == [kept]
        failed = session.scalar(select(Delivery).where(Delivery.status == "failed"))
    assert failed is not None and failed.attempts == 1
    assert failed.next_attempt_at > utcnow() + timedelta(seconds=5)
    counts = metrics.delivery_counts(services.redis)
    assert counts[("push", "failed")] == 1 and counts[("push", "dead")] == 1

    # Once its wait is over the dispatcher hands it on again, and it goes through.
    with services.catalog.session() as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    delivery.dispatch_notifications()
    run_worker(services)
    [message] = push_service.received()
    assert message.data["body"] == "Ella is live"
    assert ("push", "sent") in statuses(services)
    exposition = metrics.exposition(services).decode()
    assert 'spaces_notifications_total{channel="push",outcome="sent"} 1.0' in exposition


def test_a_decision_reaches_the_person_by_mail_within_one_dispatch(notify_services, sink) -> None:
    services = notify_services
    user = person(services, "hal")
    with services.catalog.session() as session:
        text = "Your request to host was approved. Open your host dashboard to start a space."
        notify_person(session, user, "decision", text, link="/host/", dedupe="host-request:1")
    delivery.dispatch_notifications()
    run_worker(services)
    [mail] = sink.wait_for(1)
    assert mail.message["Subject"].strip().startswith("Your request to host was approved")
    assert "http://127.0.0.1:8000/host/" in mail.text


def test_digest_people_get_one_quiet_mail(notify_services, sink) -> None:
    services = notify_services
    user = person(services, "dee", follow="email", search="email")
    with services.catalog.session() as session:
        session.get(User, user).mail_digest = True
        notify_person(session, user, "follow", "Ella is live", dedupe="a")
        notify_person(session, user, "search", "Jazz is live", dedupe="b")
    delivery.dispatch_notifications()
    run_worker(services)
    assert sink.messages == []
    assert statuses(services) == [("email", "digest"), ("email", "digest")]

    context.install(
        dataclasses.replace(services, config=services.config.with_(extra={"digest_every_s": 0}))
    )
    assert delivery.send_digests() == 1
    [mail] = sink.wait_for(1)
    assert "2 notices" in mail.message["Subject"]
    assert "Ella is live" in mail.text and "Jazz is live" in mail.text
    assert statuses(services) == [("email", "sent"), ("email", "sent")]
    assert delivery.send_digests() == 0


def test_ten_minutes_before_goes_only_to_those_who_chose_it(notify_services, push_service) -> None:
    services = notify_services
    keen = person(services, "kim", soon="push")
    calm = person(services, "cal")
    device(services, push_service, keen)
    device(services, push_service, calm)
    starts = utcnow() + timedelta(minutes=5)
    space_id = space(services, scheduled_start=starts)
    with services.catalog.session() as session:
        session.add_all(
            [Reminder(user_id=keen, space_id=space_id), Reminder(user_id=calm, space_id=space_id)]
        )
    assert delivery.notify_due_reminders() == 1
    assert delivery.notify_due_reminders() == 0
    delivery.dispatch_notifications()
    run_worker(services)
    [message] = push_service.wait_for(1)
    assert message.data["body"].startswith("In 10 minutes, at ")


def test_followers_hear_of_a_space_going_live_without_waiting_for_the_schedule(
    services, notify_services, push_service
) -> None:
    services.redis.ping()  # this process talks to Redis already, as workers and portals do
    fan = person(notify_services, "fay")
    endpoint = device(notify_services, push_service, fan)
    with notify_services.catalog.session() as session:
        follow(session, fan, "ella")
    space_id = space(notify_services)

    go_live(notify_services, space_id)
    queues.enqueue_dispatch(services)  # asked again while one waits: no second one
    ticks = Queue(queues.SCHEDULE, connection=services.redis)
    assert [job.func_name for job in ticks.jobs] == [queues.DISPATCH_JOB]
    run_worker(notify_services)  # no schedule runs: the dispatch asked for does it

    [message] = push_service.wait_for(1)
    assert message.subscription == PushService._id(endpoint)
    assert message.data["url"].endswith(f"/spaces/{space_id}")
