"""Run a crawl in child processes and report what it found.

Scrapy's Twisted reactor cannot be restarted within one process, so every crawl runs
as `python -m crawler.run URL... --json` in a child process: the crawler's command-line
interface. The child prints one JSON object per event on stdout (`page`, `space`,
`share`, `refused`, `skipped`, `error`, `robots`, `done`); this side turns them into
progress lines and a CrawlReport.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.catalog.sources import API_KINDS
from core.config import Config
from core.netguard import ForbiddenTarget, split_target
from core.redisconn import close, embedded_redis, embedded_redis_url

#: The crawler's command, run as `python -m CRAWLER_MODULE`.
CRAWLER_MODULE = "crawler.run"
_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SourceRun:
    """One start URL's share of a crawl: pages, spaces found, errors, how it answered.

    `status` is the start URL's HTTP status (0: no answer); `reason` a reason code
    (crawler.sources.errors.REASONS) when the start URL itself failed.
    """

    pages: int = 0
    spaces: set[str] = field(default_factory=set)
    errors: int = 0
    error: str = ""
    status: int = 0
    reason: str = ""


@dataclass
class CrawlReport:
    """What one crawl did: pages fetched, spaces found, and what went wrong."""

    pages: int = 0
    spaces: list[dict[str, str]] = field(default_factory=list)  # {url, title, state}
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    refused: int = 0
    refused_messages: list[str] = field(default_factory=list)
    skipped: int = 0  # not due for a revisit, or past a site's page budget
    shares: int = 0  # sightings of spaces already found in this crawl
    duration_s: float = 0.0
    peak_rss_mb: float = 0.0  # of the largest crawling process
    pages_by_process: list[int] = field(default_factory=list)
    #: One `polled` event per API source polled: its outcome, to record on the source.
    polled: list[dict[str, Any]] = field(default_factory=list)
    #: What the crawl did for each start URL (each source), to record on its source.
    sources: dict[str, SourceRun] = field(default_factory=dict)

    def add_error(self, message: str) -> None:
        """Count an error, keeping the first hundred messages."""
        self.errors += 1
        if len(self.error_messages) < 100:
            self.error_messages.append(message)


def crawl(
    urls: list[str],
    config: Config,
    *,
    depth: int = 1,
    kind: str = "page",
    query: str = "",
    progress: Callable[[str], None] | None = None,
) -> CrawlReport:
    """Crawl `urls` to `depth` links deep in a child process, landing spaces in the catalog.

    `kind` is how the URLs are read (core.catalog.sources.SOURCE_KINDS); `query` is what
    a social API or relay source is asked for.
    """
    return run_crawl(urls, config, depth=depth, kind=kind, query=query, progress=progress)


def run_crawl(
    urls: Sequence[str],
    config: Config,
    *,
    depth: int = 1,
    kind: str = "page",
    query: str = "",
    progress: Callable[[str], None] | None = None,
    settings: dict[str, Any] | None = None,
    processes: int = 1,
) -> CrawlReport:
    """Crawl like `crawl`, with Scrapy settings overridden (benchmarks, tests).

    With `config.crawl_distributed`, `processes` crawler processes share one frontier in
    Redis and split the crawl between them; without it, only one process can run.
    """
    if processes > 1 and not config.crawl_distributed:
        raise ValueError("several crawler processes need SPACES_CRAWL_DISTRIBUTED=1")
    say = progress or (lambda _line: None)
    started = time.monotonic()
    report = CrawlReport()
    good: list[str] = []
    for url in urls:
        try:
            if kind not in API_KINDS:  # readers guard their own (ws://, API) addresses
                split_target(url)
        except ForbiddenTarget as error:
            report.add_error(str(error))
            say(f"error: {error}")
        else:
            good.append(url)
    if kind == "xsearch" and not urls:
        good = [""]  # X's search has no address of its own: the reader knows the API's
    if good:
        with _shared_redis(config) as shared:
            command = [*good, "--depth", str(depth), "--kind", kind, "--json"]
            if query:
                command += ["--query", query]
            for key, value in (settings or {}).items():
                command += ["--set", f"{key}={json.dumps(value)}"]
            _run_children(command, shared, processes, report, say)
    report.duration_s = round(time.monotonic() - started, 3)
    return report


def poll_sources(
    specs: Sequence[dict[str, Any]],
    config: Config,
    *,
    progress: Callable[[str], None] | None = None,
) -> CrawlReport:
    """Poll many API sources in one child process; their outcomes are in `report.polled`.

    Each spec is a crawler source spec as a dict: url, kind, query, cursor, id.
    """
    say = progress or (lambda _line: None)
    started = time.monotonic()
    report = CrawlReport()
    if specs:
        lines = "".join(json.dumps(spec) + "\n" for spec in specs)
        _run_children(["--sources", "-", "--json"], config, 1, report, say, stdin=lines)
    report.duration_s = round(time.monotonic() - started, 3)
    return report


@contextlib.contextmanager
def _shared_redis(config: Config) -> Iterator[Config]:
    """Yield `config` with a Redis URL every child can reach, starting the embedded one."""
    if not config.crawl_distributed or config.redis_url:
        yield config
        return
    # Started here, before the children, so they all join one server rather than race.
    server = embedded_redis(config.data_dir)
    try:
        yield config.with_(redis_url=embedded_redis_url(server))
    finally:
        close(server)


def _run_children(
    arguments: list[str],
    config: Config,
    processes: int,
    report: CrawlReport,
    say: Callable[[str], None],
    *,
    stdin: str | None = None,
) -> None:
    """Run `processes` crawler processes with these arguments, all in one crawl."""
    command = [sys.executable, "-m", CRAWLER_MODULE, *arguments]
    command += ["--crawl-id", uuid.uuid4().hex]
    # The child must see this configuration, not whatever SPACES_* the parent inherited.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPACES_")}
    env.update(config.child_env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH", "")]))
    found: dict[str, dict[str, str]] = {}
    lock = threading.Lock()
    children = [
        subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _ in range(max(processes, 1))
    ]
    if stdin is not None:
        for child in children:
            assert child.stdin is not None
            child.stdin.write(stdin)
            child.stdin.close()
    readers = [
        threading.Thread(target=_read_child, args=(child, n, report, found, lock, say))
        for n, child in enumerate(children)
    ]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()
    report.spaces = list(found.values())


def _read_child(
    child: subprocess.Popen[str],
    number: int,
    report: CrawlReport,
    found: dict[str, dict[str, str]],
    lock: threading.Lock,
    say: Callable[[str], None],
) -> None:
    tail: deque[str] = deque(maxlen=30)
    # Drain stderr (Scrapy's log) on a thread so a chatty crawl never blocks on a full pipe.
    drain = threading.Thread(target=lambda: tail.extend(child.stderr or ()), daemon=True)
    drain.start()
    pages = 0
    for line in child.stdout or ():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        pages += event.get("event") == "page"
        with lock:
            _apply(event, report, found, say)
    code = child.wait()
    drain.join(timeout=5)
    with lock:
        report.pages_by_process.append(pages)
        if code != 0:
            last = "".join(tail).strip().splitlines()[-1:] or [f"exit status {code}"]
            report.add_error(f"crawler process {number} failed: {last[0]}")
            say(f"error: crawler process {number} failed: {last[0]}")


def _apply(
    event: dict[str, Any],
    report: CrawlReport,
    found: dict[str, dict[str, str]],
    say: Callable[[str], None],
) -> None:
    kind, url = event.get("event"), str(event.get("url", ""))
    if event.get("source"):
        _count_for_source(report.sources.setdefault(str(event["source"]), SourceRun()), event)
    if kind == "page":
        report.pages += 1
        say(f"fetched {event.get('status')} {url}")
    elif kind == "space":
        found[url] = {"url": url, "title": event.get("title", ""), "state": event.get("state", "")}
        say(f"space {event.get('state') or 'unknown'} {url} {event.get('title', '')}".rstrip())
    elif kind == "refused":
        report.refused += 1
        if len(report.refused_messages) < 100:
            report.refused_messages.append(str(event.get("error", "")))
        say(f"refused {event.get('error', url)}")
    elif kind == "skipped":
        report.skipped += 1
    elif kind == "share":
        report.shares += 1
    elif kind == "polled":
        report.polled.append(event)
    elif kind == "done":
        report.peak_rss_mb = max(report.peak_rss_mb, float(event.get("peak_rss_mb", 0.0)))
    elif kind in ("error", "robots"):
        message = f"{url}: {event.get('error', '')}"
        report.add_error(message)
        say(f"{'skipped' if kind == 'robots' else 'error'} {message}")


def _count_for_source(run: SourceRun, event: dict[str, Any]) -> None:
    kind = event.get("event")
    if event.get("start"):
        run.status = int(event.get("status") or 0)
    if event.get("reason"):
        run.reason, run.status = str(event["reason"]), int(event.get("status") or 0)
    if kind == "page":
        run.pages += 1
    elif kind == "space":
        run.spaces.add(str(event.get("url", "")))
    elif kind in ("error", "robots", "refused"):
        run.errors += kind != "refused"
        run.error = run.error or f"{event.get('url', '')}: {event.get('error', '')}"
