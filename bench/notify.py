"""Benchmark delivery: a host with many followers goes live; how soon does each hear of it?

N followers each have one browser subscribed to a local push service (which checks the
VAPID signature and decrypts every message, as a real one does) and a tenth of them
also chose email, received by a local SMTP server. Worker processes (`python -m
worker --queues notify`, one of them running the schedule) deliver. The clock starts
when the space's change to live is committed; each push and mail is timed on arrival.

Figures: pushes and emails per second while they flowed, the 95th percentile from
live to delivered for the first 10,000 deliveries, and how long until all arrived.
Quick mode seeds 5,000 followers; the figures keep their names.
"""

from __future__ import annotations

import logging
import os
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import insert, select

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
EMAIL_SHARE = 10  # one follower in this many also chose email
FIRST = 10_000
WORKERS = 2


@dataclass(frozen=True)
class Plan:
    """The size of one run."""

    followers: int
    timeout_s: float


FULL = Plan(followers=100_000, timeout_s=600.0)
QUICK = Plan(followers=5_000, timeout_s=180.0)


def run(quick: bool = False) -> dict[str, float]:
    """Run the notify benchmark; return its figures keyed `notify.*`."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="spaces-notify-bench-") as tmp:
        push = PushService().start()
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


def _seed(services: Services, push: PushService, followers: int) -> int:
    """Create the followers, their devices and choices, and the host's space; return its id."""
    now = utcnow()
    for start in range(0, followers, 5000):
        numbers = range(start, min(followers, start + 5000))
        subs = [push.subscribe() for _ in numbers]
        with services.catalog.session() as session:
            ids = session.scalars(
                insert(User).returning(User.id),
                [
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
                    for n in numbers
                ],
            ).all()
            session.execute(
                insert(Follow),
                [{"user_id": uid, "handle": "ella", "created_at": now} for uid in ids],
            )
            session.execute(
                insert(PushDevice),
                [
                    {
                        "user_id": uid,
                        "endpoint": sub["endpoint"],
                        "p256dh": sub["keys"]["p256dh"],
                        "auth": sub["keys"]["auth"],
                        "label": "Bench browser",
                        "created_at": now,
                    }
                    for uid, sub in zip(ids, subs, strict=True)
                ],
            )
            both = [uid for n, uid in zip(numbers, ids, strict=True) if n % EMAIL_SHARE == 0]
            if both:
                session.execute(
                    insert(NotifyChoice),
                    [{"user_id": uid, "trigger": "follow", "channels": "both"} for uid in both],
                )
    record = SpaceRecord(
        url="http://rooms.bench/s/live",
        platform="rooms",
        title="The big show",
        state=State.SCHEDULED,
        host_name="Ella",
        host_handle="ella",
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


def _measure(services: Services, push: PushService, sink: SmtpSink, plan: Plan) -> dict[str, float]:
    space_id = _seed(services, push, plan.followers)
    emails = len(range(0, plan.followers, EMAIL_SHARE))
    workers = _start_workers(services)
    try:
        time.sleep(3.0)  # the workers are up and idle before the clock starts
        live_at = time.time()
        with services.catalog.session() as session:
            space = session.get(Space, space_id)
            assert space is not None
            record_observation(session, space, Observation(state=State.LIVE, listener_count=1))
        deadline = time.monotonic() + plan.timeout_s
        while time.monotonic() < deadline:
            if push.accepted >= plan.followers and len(sink.messages) >= emails:
                break
            time.sleep(0.2)
        else:
            log.warning(
                "only %d of %d pushes and %d of %d mails arrived in %.0f s",
                push.accepted, plan.followers, len(sink.messages), emails, plan.timeout_s,
            )  # fmt: skip
    finally:
        for child in workers:
            child.terminate()
        for child in workers:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
    pushes = sorted(message.at for message in push.received())
    mails = sorted(received.at for received in sink.messages)
    arrivals = sorted(pushes + mails)
    first = [at - live_at for at in arrivals[:FIRST]]
    with services.catalog.sessions() as session:
        notices = session.scalar(select(Space.id).where(Space.id == space_id))
    assert notices is not None
    return {
        "notify.followers": float(plan.followers),
        "notify.pushes_per_s": round(_rate(pushes), 1),
        "notify.emails_per_s": round(_rate(mails), 1),
        "notify.live_to_delivered_p95_s": round(_percentile(first, 95), 2),
        "notify.all_delivered_s": round(arrivals[-1] - live_at, 2) if arrivals else -1.0,
        "notify.delivered_share": round(len(arrivals) / (plan.followers + emails), 4),
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
