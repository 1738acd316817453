"""The crawler's command: crawl URLs in this process and print what happens.

`python -m crawler.run URL... [--depth N] [--kind KIND] [--json]` runs one Scrapy
crawl (its Twisted reactor cannot be restarted, so each crawl gets a fresh process)
and prints one event per line: a JSON object with `--json` (`page`, `space`, `share`,
`refused`, `skipped`, `error`, `robots`, and `done` with the process's peak memory).
Sources of an API kind (Mastodon, Bluesky, X search, Nostr relays) are polled by
their readers instead, without Scrapy: `URL --kind mastodon [--query Q]`, or many at
once with `--sources -` (one JSON source spec per line on stdin); each poll ends
with a `polled` event. The worker's crawl jobs and `spaces crawl` start it and read
those events (worker.crawls).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from core.catalog.sources import API_KINDS, SOURCE_KINDS
from core.config import Config
from core.netguard import ForbiddenTarget, split_target
from core.redisconn import embedded_redis, embedded_redis_url
from core.services import build_services
from crawler.sources.base import SourceSpec
from crawler.sources.poll import poll_sources

_SPEC_FIELDS = {field.name for field in dataclasses.fields(SourceSpec)}


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


def _child_main(
    urls: list[str],
    depth: int,
    overrides: dict[str, Any],
    as_json: bool,
    crawl_id: str = "",
    kind: str = "page",
) -> int:
    """Run the crawl in this process (the child side) and print its events."""
    # Imported here: a poll of API sources never needs Scrapy, and starts faster without.
    from scrapy import signals
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler.frontier import frontier_settings, quicken_heartbeat
    from crawler.items import FoundSpace, Share
    from crawler.settings import CONFIG_SETTING
    from crawler.spiders.spaces import SpacesSpider, crawl_event

    # The one place this process reads its configuration; the pipeline and middlewares
    # get it through the crawl's settings.
    config = Config.from_env()
    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set(CONFIG_SETTING, config, priority="cmdline")
    settings.set("DEPTH_LIMIT", max(depth, 1), priority="cmdline")
    settings.set("SPACES_CRAWL_ALLOW", list(config.crawl_allow), priority="cmdline")
    keep_alive = None
    if config.crawl_distributed:
        redis_url = config.redis_url
        if not redis_url:
            keep_alive = embedded_redis(config.data_dir)  # held for the whole crawl
            redis_url = embedded_redis_url(keep_alive)
        quicken_heartbeat()
        frontier = frontier_settings(redis_url, crawl_id or uuid.uuid4().hex)
        extensions = {**frontier.pop("EXTENSIONS"), **overrides.pop("EXTENSIONS", {})}
        settings.set("EXTENSIONS", extensions, priority="cmdline")
        for key, value in frontier.items():
            settings.set(key, value, priority="cmdline")
    limits = config.extra.get("crawl_limits", {})  # what an operator set (core.config)
    for key, value in [*limits.items(), *overrides.items()]:
        settings.set(key, value, priority="cmdline")

    emit = _printer(as_json)

    def on_item(item: Any, **_: Any) -> None:
        if isinstance(item, Share):
            emit({"event": "share", "url": item.space_url, "page": item.page_url})
            return
        if not isinstance(item, FoundSpace):
            return  # a feed's hub: noted by the pipeline, nothing to report
        record = item.record
        emit({"event": "space", "url": record.url, "title": record.title,
              "state": str(record.state or ""), "source": item.source})  # fmt: skip

    def on_item_error(item: Any, failure: Any, **_: Any) -> None:
        url = item.space_url if isinstance(item, Share) else item.record.url
        emit({"event": "error", "url": url, "error": failure.getErrorMessage()})

    process = CrawlerProcess(settings)
    crawler = process.create_crawler(SpacesSpider)
    crawler.signals.connect(lambda event, **_: emit(event), signal=crawl_event, weak=False)
    crawler.signals.connect(on_item, signal=signals.item_scraped, weak=False)
    crawler.signals.connect(on_item_error, signal=signals.item_error, weak=False)
    process.crawl(crawler, urls=urls, depth=depth, kind=kind)
    process.start()
    emit({"event": "done", "peak_rss_mb": round(_peak_rss_mb(), 1)})
    del keep_alive
    return 0


def _printer(as_json: bool) -> Callable[[dict[str, Any]], None]:
    def emit(event: dict[str, Any]) -> None:
        if as_json:
            print(json.dumps(event), flush=True)
        else:
            print(" ".join(str(value) for value in event.values()), flush=True)

    return emit


def _poll_main(specs: list[SourceSpec], as_json: bool) -> int:
    """Poll API sources in this process (the child side) and print their events."""
    config = Config.from_env()
    emit = _printer(as_json)
    services = build_services(config)
    try:
        asyncio.run(poll_sources(specs, config, services, emit))
    finally:
        services.close()
    emit({"event": "done", "peak_rss_mb": round(_peak_rss_mb(), 1)})
    return 0


def _read_specs(lines: Iterable[str]) -> list[SourceSpec]:
    specs = []
    for line in lines:
        if line.strip():
            fields = json.loads(line)
            specs.append(SourceSpec(**{k: v for k, v in fields.items() if k in _SPEC_FIELDS}))
    return specs


def main(argv: list[str] | None = None) -> int:
    """Crawl the URLs given on the command line (the child side of `crawl`)."""
    parser = argparse.ArgumentParser(prog="python -m crawler.run", description=__doc__)
    parser.add_argument("urls", nargs="*", metavar="URL")
    parser.add_argument("--depth", type=int, default=1, help="links to follow from each URL")
    parser.add_argument(
        "--kind",
        choices=sorted(SOURCE_KINDS),
        default="page",
        help="read the URLs as this kind of source (feed, sitemap and directory as link lists)",
    )
    parser.add_argument("--query", default="", help="what an API source is asked for")
    parser.add_argument("--cursor", default="", help="where an API source's last poll stopped")
    parser.add_argument(
        "--sources", metavar="-", help="poll the API sources given as JSON lines on stdin"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON event per line")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument(
        "--crawl-id", default="", help="join this distributed crawl (SPACES_CRAWL_DISTRIBUTED=1)"
    )
    args = parser.parse_args(argv)
    if args.sources == "-":
        return _poll_main(_read_specs(sys.stdin), args.json)
    if args.kind in API_KINDS:
        # Readers hold their own addresses to the guard (a relay is ws://, X search is an API).
        specs = [SourceSpec(url, args.kind, args.query, args.cursor) for url in args.urls or [""]]
        return _poll_main(specs, args.json)
    if not args.urls:
        parser.error("give at least one URL to crawl")
    for url in args.urls:
        try:
            split_target(url)
        except ForbiddenTarget as error:
            parser.error(str(error))
    overrides = {}
    for item in args.set:
        key, _, value = item.partition("=")
        overrides[key] = json.loads(value)
    return _child_main(args.urls, args.depth, overrides, args.json, args.crawl_id, args.kind)


if __name__ == "__main__":
    sys.exit(main())
