"""Benchmark delivery: a host with many followers goes live; how soon does each hear of it?

Ella's N followers each have one browser subscribed to a local push service, which
checks every message's headers and VAPID signature as a real one does. Ben's N/10
followers chose email, received by a local SMTP server. Two worker processes (`python -m
worker --queues notify`, one running the schedule) deliver. Ella goes live first; the
clock starts as that change is committed (the notices are written after the commit)
and each push is timed on arrival. Once all have arrived, Ben goes live and his mail is
timed the same way. The browsers' part, decrypting each push with its subscription's
keys, is done once the clock has stopped: a push that does not decrypt counts as not
delivered.

Figures: pushes and emails per second while each flowed, the 95th percentile from live
to delivered for Ella's first 10,000 followers, and how long until all of them had it.
The push service and the SMTP server run in this process, on the same two cores as
the workers. Quick mode seeds 5,000 followers; the figures keep their names.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import insert

from bench.peers.push_service import PushService
from bench.peers.smtp_sink import SmtpSink
from core.catalog.migrate import upgrade
from core.catalog.models import Follow, NotifyChoice, PushDevice, Space, User
from core.catalog.records import Observation, SpaceRecord
from core.catalog.spaces import record_observation, upsert_space
from core.catalog.states import State
from core.config import Config
from core.redisconn import embedded_redis_url
from core.services import Services, build_services
from core.timeutil import utcnow

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
EMAIL_SHARE = 10  # Ben has a tenth as many followers, all by email
FIRST = 10_000
WORKERS = 2
SEED_BATCH = 5000


@dataclass(frozen=True)
class Plan:
    """The size of one run."""

    followers: int
    timeout_s: float


FULL = Plan(followers=100_000, timeout_s=900.0)
QUICK = Plan(followers=5_000, timeout_s=180.0)


def run(quick: bool = False) -> dict[str, float]:
    """Run the notify benchmark; return its figures keyed `notify.*`."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="spaces-notify-bench-") as tmp:
        push = PushService(decrypt_later=True).start()
        try:
            with SmtpSink() as sink:
                services = _services(Path(tmp), sink.url)
                try:
                    return _measure(services, push, sink, plan)
                finally:
                    services.close()
                    services.redis.shutdown(nosave=True)
        finally:
            push.stop()


def _services(data_dir: Path, smtp_url: str) -> Services:
    config = Config(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'bench.db'}",
        secret_key=secrets.token_urlsafe(16),
        rooms_secret=secrets.token_urlsafe(16),
        crawl_allow=("127.0.0.1",),  # the push service is on loopback
        smtp_url=smtp_url,
    )
    upgrade(config.database_url)
    services = build_services(config)
    services.search.ensure()
    return services


def _followers(
    services: Services, handle: str, numbers: range, push: PushService | None, now: datetime
) -> None:
    """Create the people numbered `numbers` following `handle`: by push, or else by email."""
    for start in range(numbers.start, numbers.stop, SEED_BATCH):
        batch = range(start, min(numbers.stop, start + SEED_BATCH))
        subs = [push.subscribe() for _ in batch] if push is not None else []
        with services.catalog.session() as session:
            people = [
                {
                    "email": f"fan{n}@example.org",
                    "password_hash": "-",
                    "handle": f"fan{n}",
                    "display_name": "",
                    "email_verified_at": now,
                    "totp_secret": "",
                    "recovery_codes": [],
                    "created_at": now,
                }
                for n in batch
            ]
            ids = session.scalars(insert(User).returning(User.id), people).all()
            follows = [{"user_id": uid, "handle": handle, "created_at": now} for uid in ids]
            session.execute(insert(Follow), follows)
            if push is None:
                choices = [
                    {"user_id": uid, "trigger": "follow", "channels": "email"} for uid in ids
                ]
                session.execute(insert(NotifyChoice), choices)
                continue
            devices = [
                {
                    "user_id": uid,
                    "endpoint": sub["endpoint"],
                    "p256dh": sub["keys"]["p256dh"],
                    "auth": sub["keys"]["auth"],
                    "label": "Bench browser",
                    "created_at": now,
                }
                for uid, sub in zip(ids, subs, strict=True)
            ]
            session.execute(insert(PushDevice), devices)


def _space(services: Services, handle: str, title: str) -> int:
    record = SpaceRecord(
        url=f"http://rooms.bench/s/{handle}",
        platform="rooms",
        title=title,
        state=State.SCHEDULED,
        host_name=handle.title(),
        host_handle=handle,
    )
    with services.catalog.session() as session:
        return upsert_space(session, record).id


def _start_workers(services: Services) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        **services.config.child_env(),
        "SPACES_REDIS_URL": embedded_redis_url(services.redis),
    }
    log_file = (services.config.data_dir / "workers.log").open("wb")
    children = []
    for n in range(WORKERS):
        args = ["--queues", "notify"] + ([] if n == 0 else ["--no-scheduler"])
        children.append(
            subprocess.Popen(
                [sys.executable, "-m", "worker", *args],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=log_file,
            )
        )
    return children


def _go_live(services: Services, space_id: int) -> float:
    """Record the space as live; return when the commit began (its notices come after)."""
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        assert space is not None
        record_observation(session, space, Observation(state=State.LIVE, listener_count=1))
        session.flush()
        started = time.time()
    return started


def _wait(arrived: Callable[[], int], count: int, deadline: float, what: str) -> None:
    while arrived() < count and time.monotonic() < deadline:
        time.sleep(0.2)
    if arrived() < count:
        log.warning("only %d of %d %s arrived in time", arrived(), count, what)


def _measure(services: Services, push: PushService, sink: SmtpSink, plan: Plan) -> dict[str, float]:
    now = utcnow()
    mails = plan.followers // EMAIL_SHARE
    _followers(services, "ella", range(plan.followers), push, now)
    _followers(services, "ben", range(plan.followers, plan.followers + mails), None, now)
    ella, ben = _space(services, "ella", "The big show"), _space(services, "ben", "The small show")
    workers = _start_workers(services)
    try:
        time.sleep(3.0)  # the workers are up and idle before the clock starts
        deadline = time.monotonic() + plan.timeout_s
        ella_live = _go_live(services, ella)
        _wait(lambda: push.accepted, plan.followers, deadline, "pushes")
        ben_live = _go_live(services, ben)
        _wait(lambda: len(sink.messages), mails, deadline, "mails")
    finally:
        for child in workers:
            child.terminate()
        for child in workers:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
    undecryptable = push.decrypt_held()
    if undecryptable:
        log.warning("%d pushes did not decrypt with their subscription's keys", undecryptable)
    pushes = sorted(message.at for message in push.received())
    emails = sorted(received.at for received in sink.messages)
    first = [at - ella_live for at in pushes[:FIRST]]
    return {
        "notify.followers": float(plan.followers),
        "notify.pushes_per_s": round(_rate(pushes), 1),
        "notify.emails_per_s": round(_rate(emails), 1),
        "notify.live_to_delivered_p95_s": round(_percentile(first, 95), 2),
        "notify.all_delivered_s": round(pushes[-1] - ella_live, 2) if pushes else -1.0,
        "notify.mail_all_delivered_s": round(emails[-1] - ben_live, 2) if emails else -1.0,
        "notify.delivered_share": round((len(pushes) + len(emails)) / (plan.followers + mails), 4),
    }


def _rate(times: list[float]) -> float:
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / max(times[-1] - times[0], 1e-3)


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return -1.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))]
