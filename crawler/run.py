"""Run a crawl in a fresh process and report what it found.

Scrapy's Twisted reactor cannot be restarted within one process, so every crawl
runs as `python -m crawler.run URL... --json` in a child process. The child prints
one JSON object per event on stdout; the parent turns them into progress lines and
a CrawlReport.
"""

from __future__ import annotations

import argparse
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

from crawler.frontier import frontier_settings, quicken_heartbeat
from crawler.guard import ForbiddenTarget, split_target
from portal.config import Config

_ROOT = Path(__file__).resolve().parent.parent


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

    def add_error(self, message: str) -> None:
        """Count an error, keeping the first hundred messages."""
        self.errors += 1
        if len(self.error_messages) < 100:
            self.error_messages.append(message)


def _peak_rss_mb() -> float:
    """Return this process's peak resident memory in MiB.

    From VmHWM, not getrusage: ru_maxrss survives exec, so a crawler started from a
    large process (a benchmark run) would report its parent's peak as its own.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def crawl(
    urls: list[str],
    config: Config,
    *,
    depth: int = 1,
    progress: Callable[[str], None] | None = None,
) -> CrawlReport:
    """Crawl `urls` to `depth` links deep in a child process, landing spaces in the catalog."""
    return run_crawl(urls, config, depth=depth, progress=progress)


def run_crawl(
    urls: Sequence[str],
    config: Config,
    *,
    depth: int = 1,
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
            split_target(url)
        except ForbiddenTarget as error:
            report.add_error(str(error))
            say(f"error: {error}")
        else:
            good.append(url)
    if good:
        with _shared_redis(config) as shared:
            _run_children(good, shared, depth, settings or {}, processes, report, say)
    report.duration_s = round(time.monotonic() - started, 3)
    return report


@contextlib.contextmanager
def _shared_redis(config: Config) -> Iterator[Config]:
    """Yield `config` with a Redis URL every child can reach, starting the embedded one."""
    if not config.crawl_distributed or config.redis_url:
        yield config
        return
    from portal.redisconn import close, embedded_redis, embedded_redis_url

    # Started here, before the children, so they all join one server rather than race.
    server = embedded_redis(config.data_dir)
    try:
        yield config.with_(redis_url=embedded_redis_url(server))
    finally:
        close(server)


def _run_children(
    urls: list[str],
    config: Config,
    depth: int,
    settings: dict[str, Any],
    processes: int,
    report: CrawlReport,
    say: Callable[[str], None],
) -> None:
    crawl_id = uuid.uuid4().hex
    command = [sys.executable, "-m", "crawler.run", *urls, "--depth", str(depth), "--json"]
    command += ["--crawl-id", crawl_id]
    for key, value in settings.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    # The child must see this configuration, not whatever SPACES_* the parent inherited.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPACES_")}
    env.update(config.child_env())
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_ROOT), env.get("PYTHONPATH", "")]))
    found: dict[str, dict[str, str]] = {}
    lock = threading.Lock()
    children = [
        subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        for _ in range(max(processes, 1))
    ]
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
    elif kind == "done":
        report.peak_rss_mb = max(report.peak_rss_mb, float(event.get("peak_rss_mb", 0.0)))
    elif kind in ("error", "robots"):
        message = f"{url}: {event.get('error', '')}"
        report.add_error(message)
        say(f"{'skipped' if kind == 'robots' else 'error'} {message}")


def _child_main(
    urls: list[str], depth: int, overrides: dict[str, Any], as_json: bool, crawl_id: str = ""
) -> int:
    """Run the crawl in this process (the child side) and print its events."""
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler.items import Share
    from crawler.spiders.spaces import SpacesSpider, crawl_event

    config = Config.from_env()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("DEPTH_LIMIT", max(depth, 1), priority="cmdline")
    settings.set("SPACES_CRAWL_ALLOW", list(config.crawl_allow), priority="cmdline")
    keep_alive = None
    if config.crawl_distributed:
        redis_url = config.redis_url
        if not redis_url:
            from portal.redisconn import embedded_redis, embedded_redis_url

            keep_alive = embedded_redis(config.data_dir)  # held for the whole crawl
            redis_url = embedded_redis_url(keep_alive)
        quicken_heartbeat()
        frontier = frontier_settings(redis_url, crawl_id or uuid.uuid4().hex)
        extensions = {**frontier.pop("EXTENSIONS"), **overrides.pop("EXTENSIONS", {})}
        settings.set("EXTENSIONS", extensions, priority="cmdline")
        for key, value in frontier.items():
            settings.set(key, value, priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event), flush=True)
        else:
            print(" ".join(str(value) for value in event.values()), flush=True)

    def on_item(item: Any, **_: Any) -> None:
        if isinstance(item, Share):
            emit({"event": "share", "url": item.space_url, "page": item.page_url})
            return
        record = item.record
        emit({"event": "space", "url": record.url, "title": record.title,
              "state": str(record.state or "")})  # fmt: skip

    def on_item_error(item: Any, failure: Any, **_: Any) -> None:
        url = item.space_url if isinstance(item, Share) else item.record.url
        emit({"event": "error", "url": url, "error": failure.getErrorMessage()})

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SpacesSpider)
    crawler.signals.connect(lambda event, **_: emit(event), signal=crawl_event, weak=False)
    crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(on_item_error, signal=signals.item_error, weak=False)
    process.crawl(crawler, urls=urls, depth=depth)
    process.start()
    emit({"event": "done", "peak_rss_mb": round(_peak_rss_mb(), 1)})
    del keep_alive
    return 0


def main(argv: list[str] | None = None) -> int:
    """Crawl the URLs given on the command line (the child side of `crawl`)."""
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("urls", nargs="+", metavar="URL")
    parser.add_argument("--depth", type=int, default=1, help="links to follow from each URL")
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument(
        "--crawl-id", default="", help="join this distributed crawl (SPACES_CRAWL_DISTRIBUTED=1)"
    )
    args = parser.parse_args(argv)
    for url in args.urls:
        try:
            split_target(url)
        except ForbiddenTarget as error:
            parser.error(str(error))
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    return _child_main(args.urls, args.depth, overrides, args.json, args.crawl_id)


if __name__ == "__main__":
    sys.exit(main())
