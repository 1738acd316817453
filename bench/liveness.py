"""Benchmark liveness: how fast one worker checks, and how soon an ended space shows as ended.

N live room-server spaces are seeded; a real worker process (`python -m worker`, with its
scheduler) checks them against a status server in another process. Once every space has
been checked, the status server ends 10% of them at random moments over a window, and
the catalog is watched until each shows as ended. Quick mode scales the run down
(fewer spaces, a 5 s interval, a shorter window); the figures keep their names.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from bench.status_server import StatusServerProcess, start_status_server
from core import metrics
from core.catalog.migrate import upgrade
from core.catalog.models import Space
from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from core.catalog.states import State
from core.config import Config
from core.redisconn import embedded_redis_url
from core.services import Services, build_services
from core.timeutil import utcnow

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
ENDED_SHARE = 0.10
POLL_S = 0.5
STARTED = datetime(2026, 11, 23, 10, tzinfo=UTC)


@dataclass(frozen=True)
class Plan:
    """The size of one run."""

    spaces: int
    interval_s: float
    end_window_s: float  # ends are spread over this long
    first_round_s: float  # the worker must check every space once within this long


FULL = Plan(spaces=10_000, interval_s=30.0, end_window_s=60.0, first_round_s=120.0)
QUICK = Plan(spaces=2_000, interval_s=5.0, end_window_s=15.0, first_round_s=60.0)


def run(quick: bool = False) -> dict[str, float]:
    """Run the liveness benchmark; return its figures keyed `liveness.*`."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="spaces-liveness-bench-") as tmp:
        server = start_status_server()
        try:
            services = _services(Path(tmp), plan)
            try:
                return _measure(services, server, plan)
            finally:
                services.close()
                services.redis.shutdown(nosave=True)
        finally:
            server.stop()


def _services(data_dir: Path, plan: Plan) -> Services:
    config = Config(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'bench.db'}",
        secret_key=secrets.token_urlsafe(16),
        rooms_secret=secrets.token_urlsafe(16),
        crawl_allow=("127.0.0.1",),  # the status server is on loopback
        live_check_interval_s=plan.interval_s,
    )
    upgrade(config.database_url)
    services = build_services(config)
    services.search.ensure()
    return services


def _measure(services: Services, server: StatusServerProcess, plan: Plan) -> dict[str, float]:
    rng = random.Random(7)
    ids = _seed(services, server.base, plan.spaces)
    worker = _start_worker(services)
    try:
        rate, cpu_rate = _first_round(services, plan, worker.pid)
        chosen = rng.sample(sorted(ids), int(len(ids) * ENDED_SHARE))
        begin = time.time() + 1.0
        ends = {space_id: begin + rng.uniform(0, plan.end_window_s) for space_id in chosen}
        server.plan({ids[space_id]: end for space_id, end in ends.items()})
        # Long enough for a few intervals past the last end, and then no longer.
        grace = 4 * plan.interval_s + 10
        seen, lags = _watch(services, ends, deadline=time.monotonic() + plan.end_window_s + grace)
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    visible = sorted(seen[space_id] - ends[space_id] for space_id in seen)
    if len(seen) < len(ends):
        log.warning("%d of %d ended spaces were never seen ended", len(ends) - len(seen), len(ends))
        # A space never seen ended counts as taking the whole run: it must not flatter p95.
        visible += [plan.end_window_s + grace] * (len(ends) - len(seen))
        visible.sort()
    return {
        "liveness.checks_per_s": round(rate, 1),
        "liveness.checks_per_cpu_s": round(cpu_rate, 1),
        "liveness.ended_visible_p50_s": round(_percentile(visible, 50), 2),
        "liveness.ended_visible_p95_s": round(_percentile(visible, 95), 2),
        "liveness.schedule_lag_p95_s": round(_percentile(sorted(lags), 95), 2),
    }


def _seed(services: Services, base: str, count: int) -> dict[int, str]:
    """Create `count` live spaces; return their room ids by space id."""
    rooms: dict[int, str] = {}
    for start in range(0, count, 1000):
        with services.catalog.session() as session:
            batch = []
            for n in range(start, min(count, start + 1000)):
                # As the status server will describe it: checks that find nothing new
                # are the common case, so the first round measures those.
                record = SpaceRecord(
                    url=f"{base}/s/room{n}",
                    platform="rooms",
                    title=f"Bench room room{n}",
                    state=State.LIVE,
                    listener_count=len(f"room{n}") * 7,
                    speaker_count=2,
                    started_at=STARTED,
                    host_handle=f"host{n % 50}",
                    status_url=f"{base}/api/rooms/room{n}",
                )
                batch.append((upsert_space(session, record), f"room{n}"))
            session.flush()
            rooms.update({space.id: room for space, room in batch})
    return rooms


def _start_worker(services: Services) -> subprocess.Popen[bytes]:
    log_file = (services.config.data_dir / "worker.log").open("wb")
    env = {
        **os.environ,
        **services.config.child_env(),
        "SPACES_REDIS_URL": embedded_redis_url(services.redis),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "worker", "--queues", "crawl-now", "liveness"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log_file,
    )


def _checks(services: Services) -> int:
    return sum(metrics.check_counts(services.redis).values())


def _first_round(services: Services, plan: Plan, pid: int) -> tuple[float, float]:
    """Wait until every space was checked once; return checks per second and per CPU second.

    The second figure divides by the worker's own CPU time: on a busy machine the
    wall-clock rate understates what one worker process can do.
    """
    first_at = first_count = first_cpu = None
    # Counted from the worker's start: importing it takes seconds on a busy machine.
    deadline = time.monotonic() + plan.first_round_s
    while time.monotonic() < deadline:
        count = _checks(services)
        now, cpu = time.monotonic(), _cpu_seconds(pid)
        if first_at is None and count:
            first_at, first_count, first_cpu = now, count, cpu
        if count >= plan.spaces:
            break
        time.sleep(0.05)
    else:
        tail = (services.config.data_dir / "worker.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(
            f"the worker checked only {_checks(services)} of {plan.spaces} spaces:\n{tail}"
        )
    assert first_at is not None and first_count is not None and first_cpu is not None
    # The first batch's own duration is not in the window; count only what followed it.
    done = count - first_count
    return done / max(now - first_at, 1e-3), done / max(cpu - first_cpu, 1e-3)


def _cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) process `pid` has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _watch(
    services: Services, ends: dict[int, float], deadline: float
) -> tuple[dict[int, float], list[float]]:
    """Poll the catalog until every space in `ends` shows as ended; return when each did."""
    seen: dict[int, float] = {}
    lags: list[float] = []
    pending = list(ends)
    while pending and time.monotonic() < deadline:
        with services.catalog.sessions() as session:
            lags.append(metrics.schedule_lag_s(session, utcnow(), services.redis))
            done = session.scalars(
                select(Space.id).where(Space.id.in_(pending), Space.state == State.ENDED)
            ).all()
        now = time.time()
        for space_id in done:
            seen[space_id] = now
        pending = [space_id for space_id in pending if space_id not in seen]
        time.sleep(POLL_S)
    with services.catalog.sessions() as session:
        live = session.scalar(select(func.count(Space.id)).where(Space.state == State.LIVE))
    log.info("%d spaces still live, %d ended seen", live, len(seen))
    return seen, lags


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return values[index]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
