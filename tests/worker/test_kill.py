"""Workers killed with SIGKILL mid-job, again and again: every job still runs, its effect once.

A queue of real jobs (pinged and submitted crawls of pages, crawls of page sources, polls
of Mastodon sources, liveness batches of spaces about to go live) is worked by three
worker processes with a two-second heartbeat. One leads the schedule, and so hands
abandoned jobs back to the queue; the others are frozen mid-job (once the job's request
reached its local server) and killed with their crawler children, and a fresh worker
takes each one's place. Then everything is counted: every job finished and none failed,
every killed job asked its server again, and every space, sighting, change to live,
submission outcome and notification is in the catalog exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from bench.peers.mastodon_server import MastodonServer
from bench.peers.sites import Drip, Site
from core import queues
from core.catalog.follows import follow
from core.catalog.models import Notification, Reminder, Sighting, Space, StateChange, Submission
from core.catalog.records import SpaceRecord
from core.catalog.sources import add_source, defer_sources
from core.catalog.spaces import defer_checks, upsert_space
from core.catalog.states import State
from core.platforms.registry import canonical_url
from core.redisconn import embedded_redis_url
from core.services import Services
from core.timeutil import utcnow
from crawler.revisit import RevisitStore
from portal.accounts.users import create_user
from tests.worker.conftest import StatusServer
from worker import context
from worker.run import SCHEDULER_LOCK

pytestmark = [
    pytest.mark.slow,
    # Processes are slow to start: run these on the embedded Redis only.
    pytest.mark.parametrize("redis_client", ["embedded"], indirect=True),
]

TTL_S = 2  # a killed worker's job counts as abandoned two seconds after its last beat
KILLS = 5
KINDS = ("crawl-url", "source", "poll", "liveness")
#: Kills of one job at most: a liveness batch is retried twice (LIVENESS_RETRY).
KILLS_PER_JOB = 2
DRIP_S = 0.01  # per byte: a page of ~140 bytes takes ~1.5 s to arrive
POLL_DELAY_S = 1.0
STATUS_DELAY_S = 2.0


class SlowMastodon(MastodonServer):
    """The local Mastodon server, answering every request after a pause."""

    def add_routes(self, app: web.Application) -> None:
        super().add_routes(app)
        app.middlewares.append(self._slow)  # after the request log: logged on arrival

    @web.middleware
    async def _slow(self, request: web.Request, handler: Any) -> web.StreamResponse:
        await asyncio.sleep(POLL_DELAY_S)
        response: web.StreamResponse = await handler(request)
        return response


def x_space(name: str) -> str:
    """Return a distinct X Spaces link for `name` (letters and digits only)."""
    return f"https://x.com/i/spaces/1Kill{name}"


def page(name: str) -> bytes:
    return (
        f"<html><head><title>Page {name}</title></head><body>"
        f'<p>Tonight: <a href="{x_space(name)}">our space</a></p></body></html>'
    ).encode()


@pytest.fixture
def kill_services(queued_services: Services) -> Iterator[Services]:
    config = queued_services.config.with_(worker_ttl_s=TTL_S)
    installed = context.install(dataclasses.replace(queued_services, config=config))
    yield installed
    context.reset()


@pytest.fixture
def mastodon() -> Iterator[SlowMastodon]:
    server = SlowMastodon().start()
    yield server
    server.stop()


class Workers:
    """Worker processes, each the leader of its own process group (with its crawlers)."""

    def __init__(self, services: Services, logs: Path) -> None:
        self.env = {
            **os.environ,
            **services.config.child_env(),
            "SPACES_REDIS_URL": embedded_redis_url(services.redis),
        }
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"worker-{len(self.started)}.log", "wb") as log:
            child = subprocess.Popen(
                [sys.executable, "-m", "worker", *args],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(child)
        return child

    def signal(self, child: subprocess.Popen[bytes], sig: signal.Signals) -> None:
        if child.poll() is None:
            os.killpg(child.pid, sig)

    def kill(self, child: subprocess.Popen[bytes]) -> None:
        self.signal(child, signal.SIGKILL)
        child.wait()

    def close(self) -> None:
        for child in self.started:
            self.kill(child)


@pytest.fixture
def workers(kill_services: Services, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(kill_services, tmp_path)
    yield running
    running.close()


def wait_for(condition: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout:g} s"
        time.sleep(0.2)


@dataclasses.dataclass
class Ours:
    """The jobs this test queued: each one's kind and the paths its run asks for."""

    kinds: dict[str, str] = dataclasses.field(default_factory=dict)
    paths: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, job: Job | None, kind: str, *paths: str) -> None:
        assert job is not None, f"a {kind} job was not queued"
        self.kinds[job.id] = kind
        self.paths[job.id] = list(paths)


def test_killed_workers_lose_no_job_and_do_nothing_twice(
    kill_services: Services,
    site: Site,
    mastodon: SlowMastodon,
    status_server: StatusServer,
    workers: Workers,  # last, so that they stop first
) -> None:
    services, redis = kill_services, kill_services.redis
    began = time.monotonic()
    sightings: set[tuple[str, str]] = set()  # (space URL, page URL) the jobs must land

    def asked() -> Counter[str]:
        """Every path asked of the local servers so far (their paths do not overlap)."""
        return (
            Counter(site.paths())
            + Counter(urlsplit(target).path for target in mastodon.requests)
            + Counter(status_server.requests)
        )

    # Pinged and submitted pages, each sharing a space of its own.
    pinged = [f"ping{n}" for n in range(3)]
    sourced = [f"source{n}" for n in range(2)]
    for name in pinged + sourced:
        site.routes[f"/{name}"] = Drip(page(name), every_s=DRIP_S)
        sightings.add((x_space(name), f"{site.url}/{name}"))
    with services.catalog.session() as session:
        host = create_user(session, "host@example.org", "correct horse battery", is_host=True)
        submitted = {}
        for name in pinged[:2]:
            row = Submission(user_id=host.id, url=f"{site.url}/{name}")
            session.add(row)
            session.flush()
            submitted[row.id] = name

    # Mastodon sources, a tag each, a status in each sharing a space of its own.
    author = mastodon.add_account("ella")
    tooted = [f"toot{n}" for n in range(2)]
    for name in tooted:
        status = mastodon.publish(author, f"Live now: {x_space(name)}", tags=(name,))
        sightings.add((x_space(name), status["url"]))
    with services.catalog.session() as session:
        page_sources = [add_source(session, f"{site.url}/{n}", depth=0).id for n in sourced]
        polled = [
            add_source(session, f"{mastodon.base}/tags/{name}", kind="mastodon").id
            for name in tooted
        ]
        # Held by the jobs queued below, as the schedule holds the sources it queues.
        defer_sources(session, page_sources + polled, utcnow() + timedelta(hours=1))

    # Spaces about to go live: Ann follows every host; Ben follows one, and set reminders.
    hosts = [f"host{n}" for n in range(4)]
    with services.catalog.session() as session:
        ann = create_user(session, "ann@example.org", "correct horse battery")
        ben = create_user(session, "ben@example.org", "correct horse battery")
        live_ids = []
        for name in hosts:
            status_server.rooms[name] = STATUS_DELAY_S  # answers "live", after a while
            space = upsert_space(
                session,
                SpaceRecord(
                    url=f"http://rooms.test/s/{name}",
                    platform="rooms",
                    title=f"Room of {name}",
                    state=State.SCHEDULED,
                    status_url=status_server.status_url(name),
                    host_handle=name,
                ),
            )
            session.flush()
            live_ids.append(space.id)
            follow(session, ann.id, name)
        follow(session, ben.id, hosts[0])
        for space_id in live_ids[:2]:
            session.add(Reminder(user_id=ben.id, space_id=space_id))
        # Held by the batches queued below, as the schedule holds the spaces it queues.
        defer_checks(session, live_ids, utcnow() + timedelta(hours=1))
        ann_id, ben_id = ann.id, ben.id
    # One notice per person and space: a reminder says it best, then a follow.
    expected_notices = {(ann_id, space_id, "follow") for space_id in live_ids}
    expected_notices |= {(ben_id, space_id, "reminder") for space_id in live_ids[:2]}

    ours = Ours()
    for n, name in enumerate(pinged):
        reason = "submission" if n < 2 else "ping"
        ours.add(
            queues.enqueue_url_crawl(services, f"{site.url}/{name}", reason=reason),
            "crawl-url",
            f"/{name}",
        )
    for source_id, name in zip(polled, tooted, strict=True):
        ours.add(
            queues.enqueue_source_polls(services, [source_id]),
            "poll",
            f"/api/v1/timelines/tag/{name}",
        )
    for source_id, name in zip(page_sources, sourced, strict=True):
        ours.add(queues.enqueue_source_crawl(services, source_id), "source", f"/{name}")
    for start in range(0, len(hosts), 2):
        ours.add(
            queues.enqueue_liveness_batch(services, live_ids[start : start + 2]),
            "liveness",
            *(f"/api/rooms/{name}" for name in hosts[start : start + 2]),
        )
    assert len(ours.kinds) == 9

    # One worker leads the schedule (and so recovers abandoned jobs) and takes nothing
    # but its ticks; the others take every job, and die. One of those takes liveness
    # batches and sources first, so that every kind is in flight early.
    workers.start("--queues", queues.SCHEDULE)
    victims = {
        workers.start(*args): args
        for args in (
            ("--no-scheduler",),
            ("--no-scheduler", "--queues", queues.LIVENESS, queues.CRAWL, queues.CRAWL_NOW),
        )
    }
    wait_for(lambda: redis.get(SCHEDULER_LOCK), 30, "a worker taking the scheduler lock")

    def all_finished() -> bool:
        return all(_status(redis, job_id) == JobStatus.FINISHED for job_id in ours.kinds)

    kills: Counter[str] = Counter()  # job id -> kills that hit it mid-job
    # Killed jobs not yet handed back, with when they were killed and the victim's args.
    # The leader's schedule finds a job abandoned once its heartbeat lapses, and hands
    # it back to be retried. Only then does the victim's replacement start: a new
    # worker's own start-up upkeep (RQ's) would do it too, and hide a schedule that didn't.
    abandoned: dict[str, tuple[float, tuple[str, ...]]] = {}
    while abandoned or time.monotonic() - began < 45:
        for job_id, (killed_at, args) in list(abandoned.items()):
            if _status(redis, job_id) != JobStatus.STARTED:
                del abandoned[job_id]
                victims[workers.start(*args)] = args
            else:
                waited = time.monotonic() - killed_at
                assert waited < TTL_S + 10, f"{job_id} not handed back in {waited:.1f} s"
        hit_kinds = {ours.kinds[job_id] for job_id in kills}
        enough = kills.total() >= KILLS and hit_kinds == set(KINDS)
        if enough or time.monotonic() - began >= 45:
            if not abandoned:
                break
            time.sleep(0.1)
            continue
        killed = _kill_one(workers, victims, redis, ours, kills, asked(), set(abandoned))
        if killed is not None:
            victim, job_id = killed
            abandoned[job_id] = (time.monotonic(), victims.pop(victim))
        elif not abandoned and all_finished():
            break
        else:
            time.sleep(0.1)
    assert not abandoned, f"killed jobs never handed back: {sorted(abandoned)}"

    wait_for(all_finished, 90, "every job finishing")
    # A change to live whose announcement died with its worker is announced by the
    # schedule's announce_missed_lives, a little later.
    wait_for(lambda: len(_notices(services)) >= len(expected_notices), 40, "every notice")

    # Every kill hit a job mid-way, five and more of them, in every kind of job.
    assert kills.total() >= 5, f"only {kills.total()} kills in time: {kills}"
    assert {ours.kinds[job_id] for job_id in kills} == set(KINDS), kills
    # RQ saw each kill (one retry spent per kill) and nothing else (no retry without one).
    for job_id, kind in ours.kinds.items():
        job = Job.fetch(job_id, connection=redis)
        retry = queues.LIVENESS_RETRY if kind == "liveness" else queues.RETRY
        assert job.retries_left == retry.max - kills[job_id], (job_id, kills[job_id])
    for name in queues.ALL_QUEUES:
        failed = Queue(name, connection=redis).failed_job_registry
        assert failed.get_job_ids() == [], f"failed jobs in queue {name}"
    # Each run of a killed job had asked its server; the run after the last kill asked again.
    now_asked = asked()
    for job_id, paths in ours.paths.items():
        for path in paths:
            assert now_asked[path] >= kills[job_id] + 1, (job_id, path, now_asked[path])
    assert sum(now_asked[path] - 1 for path in now_asked if path != "/robots.txt") >= 5

    # Every effect, exactly once.
    with services.catalog.session() as session:
        spaces = Counter(session.scalars(select(Space.canonical_url)))
        assert all(spaces[space_url] == 1 for space_url, _page in sightings), spaces
        seen = Counter(
            (space_url, page_url)
            for space_url, page_url in session.execute(
                select(Space.canonical_url, Sighting.page_url).join(
                    Sighting, Sighting.space_id == Space.id
                )
            )
        )
        assert {sighting: seen[sighting] for sighting in sightings} == dict.fromkeys(sightings, 1)
        went_live = Counter(
            session.scalars(
                select(StateChange.space_id).where(
                    StateChange.space_id.in_(live_ids), StateChange.to_state == State.LIVE
                )
            )
        )
        assert went_live == Counter(live_ids), went_live
        for submission_id, name in submitted.items():
            row = session.get(Submission, submission_id)
            assert (row.outcome, row.found_urls) == ("found", [x_space(name)]), name
    notices = _notices(services)
    assert Counter(notices) == Counter(expected_notices), notices


def test_a_crawl_killed_after_reading_its_page_lands_it_when_run_again(
    kill_services: Services, site: Site, workers: Workers
) -> None:
    """The run that died noted the page as read; the next must not take a 304 for known."""
    services, redis = kill_services, kill_services.redis
    body = page("etag")

    def conditional(headers: Any) -> tuple[int, dict[str, str], bytes]:
        if headers.get("If-None-Match") == '"v1"':
            return 304, {"ETag": '"v1"'}, b""
        return 200, {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}, body

    site.routes["/etag"] = conditional
    url = f"{site.url}/etag"
    job = queues.enqueue_url_crawl(services, url, reason="ping")
    assert job is not None

    # The catalog is busy: the crawl reads the page, notes it as read, and waits to land it.
    busy = sqlite3.connect(services.config.database_url.removeprefix("sqlite:///"))
    try:
        busy.execute("BEGIN IMMEDIATE")
        victim = workers.start("--no-scheduler")
        revisits = RevisitStore(redis)
        wait_for(lambda: revisits.get(canonical_url(url)), 30, "the page noted as read")
        time.sleep(1.5)  # the crawler's pipeline writes every second: it is waiting now
        assert _status(redis, job.id) == JobStatus.STARTED
        workers.kill(victim)
    finally:
        busy.rollback()
        busy.close()
    assert site.paths().count("/etag") == 1
    with services.catalog.session() as session:
        assert session.scalars(select(Space.canonical_url)).all() == []

    workers.start()  # finds the job abandoned, and runs it again
    wait_for(lambda: _status(redis, job.id) == JobStatus.FINISHED, 30, "the job run again")
    assert site.paths().count("/etag") == 2
    assert Job.fetch(job.id, connection=redis).retries_left == queues.RETRY.max - 1
    with services.catalog.session() as session:
        found = session.execute(
            select(Space.canonical_url, Sighting.page_url).join(
                Sighting, Sighting.space_id == Space.id
            )
        ).all()
        assert [(space_url, page_url) for space_url, page_url in found] == [(x_space("etag"), url)]


def _notices(services: Services) -> list[tuple[int, int | None, str]]:
    with services.catalog.session() as session:
        rows = session.execute(
            select(Notification.user_id, Notification.space_id, Notification.kind)
        )
        return [(user_id, space_id, kind) for user_id, space_id, kind in rows]


def _status(redis: Any, job_id: str) -> JobStatus | None:
    try:
        return Job.fetch(job_id, connection=redis).get_status(refresh=False)
    except NoSuchJobError:
        return None


def _kill_one(
    workers: Workers,
    victims: dict[subprocess.Popen[bytes], tuple[str, ...]],
    redis: Any,
    ours: Ours,
    kills: Counter[str],
    asked: Counter[str],
    abandoned: set[str],
) -> tuple[subprocess.Popen[bytes], str] | None:
    """Kill a victim in the middle of one of our jobs; return it and the job, or None.

    In the middle: the job's run has asked its server (once more than its runs killed
    before) and has not finished. Frozen first, the worker can neither finish the job
    nor renew its heartbeat while this makes sure.
    """
    by_pid = {child.pid: child for child in victims if child.poll() is None}
    per_kind = Counter(ours.kinds[job_id] for job_id in kills.elements())
    # A kind hit already waits while the kills left are only enough for the others.
    spare = KILLS - kills.total() - len(set(KINDS) - set(per_kind))
    candidates = []
    for worker in Worker.all(connection=redis):
        child = by_pid.get(worker.pid)
        job_id = worker.get_current_job_id() if child is not None else None
        if child is None or job_id not in ours.kinds or job_id in abandoned:
            continue
        kind = ours.kinds[job_id]
        if kills[job_id] >= KILLS_PER_JOB or (per_kind[kind] and spare <= 0):
            continue
        if min(asked[path] for path in ours.paths[job_id]) <= kills[job_id]:
            continue  # this run has not reached its server yet
        candidates.append((per_kind[kind], kills[job_id], worker, child, job_id))
    for *_, worker, child, job_id in sorted(candidates, key=lambda found: found[:2]):
        workers.signal(child, signal.SIGSTOP)
        fresh = Worker.find_by_key(worker.key, connection=redis)
        running = fresh is not None and fresh.get_current_job_id() == job_id
        if running and _status(redis, job_id) == JobStatus.STARTED:
            workers.kill(child)
            kills[job_id] += 1
            return child, job_id
        workers.signal(child, signal.SIGCONT)
    return None
