"""Delivery workers killed with SIGKILL mid-batch: every notice still arrives, once each.

Each delivery is claimed in the catalog before it is sent and journaled in Redis the
moment its service accepts it, so a rerun neither loses nor repeats it. The one gap
left is the instant between a service accepting a message and the journal noting it:
a message cut off there is sent again with the same idempotency key (push Topic and
notification tag, mail Message-ID), which is what receivers keep one of. So the test
counts distinct keys at the push service and the SMTP server, and bounds the repeats.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from rq import Worker
from sqlalchemy import func, select

from bench.peers.push_service import PushService
from bench.peers.smtp_sink import SmtpSink
from core.catalog.follows import follow
from core.catalog.models import Delivery, Notification, PushDevice, User
from core.catalog.people import set_choice
from core.services import Services
from core.timeutil import utcnow
from tests.worker.test_delivery import go_live, space
from tests.worker.test_kill import Workers, wait_for
from worker import context
from worker.run import SCHEDULER_LOCK

pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("redis_client", ["embedded"], indirect=True),
]

FOLLOWERS = 300
KILLS = 4
TTL_S = 2


class SlowPushService(PushService):
    """The local push service, taking a little while over each message."""

    def add_routes(self, app: web.Application) -> None:
        app.middlewares.append(self._slow)
        super().add_routes(app)

    @web.middleware
    async def _slow(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(0.02)
        return await handler(request)


@pytest.fixture
def push_service() -> Iterator[SlowPushService]:
    server = SlowPushService().start()
    yield server
    server.stop()


@pytest.fixture
def kill_services(queued_services: Services, sink: SmtpSink) -> Iterator[Services]:
    config = queued_services.config.with_(worker_ttl_s=TTL_S, smtp_url=sink.url)
    installed = context.install(dataclasses.replace(queued_services, config=config))
    yield installed
    context.reset()


@pytest.fixture
def workers(kill_services: Services, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(kill_services, tmp_path)
    yield running
    running.close()


def test_killed_delivery_workers_deliver_every_notice_once(
    kill_services: Services, push_service: SlowPushService, sink: SmtpSink, workers: Workers
) -> None:
    services = kill_services
    endpoints = {}
    with services.catalog.session() as session:
        for n in range(FOLLOWERS):
            user = User(
                email=f"fan{n}@example.org",
                password_hash="-",
                handle=f"fan{n}",
                email_verified_at=utcnow(),
            )
            session.add(user)
            session.flush()
            follow(session, user.id, "ella")
            set_choice(session, user.id, "follow", "both")
            sub = push_service.subscribe()
            endpoints[PushService._id(sub["endpoint"])] = user.id
            session.add(
                PushDevice(
                    user_id=user.id,
                    endpoint=sub["endpoint"],
                    p256dh=sub["keys"]["p256dh"],
                    auth=sub["keys"]["auth"],
                )
            )
    go_live(services, space(services))

    kills = 0
    while kills < KILLS:
        child = workers.start("--queues", "notify")
        # Killed once it is sending: some of its batch out, the rest not yet.
        before = push_service.accepted + len(sink.messages)
        wait_for(
            lambda: (
                push_service.accepted + len(sink.messages) > before + 40 or child.poll() is not None
            ),
            60,
            "a worker sending",
        )
        workers.kill(child)
        kills += 1
        # The killed worker's registration lingers until its TTL; it is dead all the same.
        for worker in Worker.all(connection=services.redis):
            if worker.pid == child.pid:
                worker.register_death()
        # Its schedule lock would hold the next worker's schedule back for LOCK_TTL_S.
        services.redis.delete(SCHEDULER_LOCK)
    workers.start("--queues", "notify")

    def all_sent() -> bool:
        with services.catalog.sessions() as session:
            return (
                session.scalar(select(func.count()).where(Delivery.status == "sent"))
                == 2 * FOLLOWERS
            )

    wait_for(all_sent, 120, "every delivery recorded as sent")
    pushes = Counter(
        (message.subscription, message.data["tag"]) for message in push_service.received()
    )
    mails = Counter(str(received.message["Message-ID"]) for received in sink.messages)
    with services.catalog.sessions() as session:
        notices = session.scalar(select(func.count(Notification.id)))
    assert notices == FOLLOWERS
    # Every follower's device got the notice, and every inbox its mail: none lost.
    assert {sub for sub, _tag in pushes} == set(endpoints)
    assert len(pushes) == FOLLOWERS and len(mails) == FOLLOWERS
    assert {r.rcpt_tos[0] for r in sink.messages} == {
        f"fan{n}@example.org" for n in range(FOLLOWERS)
    }
    # Repeats, if any, are only messages cut off between acceptance and the journal.
    repeats = sum(pushes.values()) - len(pushes) + sum(mails.values()) - len(mails)
    assert repeats <= KILLS * 16, repeats
    time.sleep(0.5)  # nothing more trickles in
    assert sum(Counter(m.subscription for m in push_service.received()).values()) == sum(
        pushes.values()
    )
