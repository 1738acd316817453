"""The `spaces sources` and `spaces crawl` commands' work: add, list and crawl sources.

A source's kind is recognised from its URL where it can be (the crawler's readers know
their own protocols' URLs), and `--kind` always wins. One bad URL among good ones does
not cost the good ones: each is added on its own, and each refused one is named with
the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from core.config import Config

if TYPE_CHECKING:
    from core.catalog.models import Source
    from core.services import Services
    from worker.crawls import CrawlReport


def recognise(url: str) -> str:
    """Return the kind of source `url` is: the kind of the reader that claims it, else by shape."""
    from core.catalog.sources import recognise_kind  # the catalog: SQLAlchemy, slow to load
    from crawler.sources import reader_for_url

    reader = reader_for_url(url)
    return reader.kind if reader is not None else recognise_kind(url)


def stored_url(url: str, kind: str, query: str, config: Config) -> str:
    """Return the address a source of `kind` at `url` asking `query` is stored at."""
    from core.catalog.sources import source_address
    from crawler.sources import READERS

    if kind == "xsearch" and not url.strip():
        url = config.x_api_url  # a search of the configured X API, as the worker reads it
    reader = READERS.get(kind)
    if reader is not None:
        return reader.source_url(url, query)
    return source_address(url, kind, query, x_api_url=config.x_api_url)


def add_sources(
    services: Services,
    urls: Sequence[str],
    *,
    kind: str = "",
    query: str = "",
    interval_s: int = 300,
    depth: int = 1,
) -> int:
    """Add each URL as a source; print each added and each refused one; 1 if any refused."""
    from core.catalog.sources import InvalidSource, add_source

    if not urls and kind == "xsearch":
        urls = [""]  # an X search is named by its query alone
    if not urls:
        print("error: give the URL of at least one source", file=sys.stderr)
        return 1
    status = 0
    for url in urls:
        its_kind = kind or recognise(url)
        try:
            address = stored_url(url, its_kind, query, services.config)
            # Each in its own transaction: a refused one rolls back nothing but itself.
            with services.catalog.session() as session:
                source = add_source(
                    session, address, kind=its_kind, interval_s=interval_s, depth=depth, query=query
                )
                line = f"source {source.id}: {source.kind} {source.url} every {source.interval_s} s"
        except (InvalidSource, ValueError) as error:
            print(f"refused {url or '(no URL)'}: {error}", file=sys.stderr)
            status = 1
            continue
        print(line + (f", query {query!r}" if query else ""))
    return status


def source_lines(sources: Sequence[Source], now: datetime) -> list[str]:
    """Return two lines per source: its settings and address, then its health and figures."""
    lines = []
    for source in sources:
        state = "paused" if source.paused else "active"
        query = f"  query {source.query!r}" if source.query else ""
        lines.append(
            f"{source.id:4}  {state:6}  {source.kind:9} every {source.interval_s:5} s  "
            f"{source.url}{query}"
        )
        lines.append(
            f"      {health_text(source, now)}; last run: {source.last_pages} pages, "
            f"{source.last_spaces} spaces, {source.last_errors} errors"
        )
    return lines


def health_text(source: Source, now: datetime) -> str:
    """Say in a few words how a source's fetches have gone lately."""
    from core.catalog.source_health import reason_words

    last_ok = f"last ok {_ago(source.last_ok_at, now)}"
    status = f", HTTP {source.last_status}" if source.last_status else ""
    if source.paused_reason:
        return f"paused: {source.paused_reason}; {reason_words(source.reason)}{status}"
    if source.failures:
        return (
            f"failing ({source.failures} in a row): {source.reason}, "
            f"{reason_words(source.reason)}{status}; {last_ok}"
        )
    if source.last_run_at is None:
        return "not read yet"
    return f"ok{status}; {last_ok}"


def _ago(value: datetime | None, now: datetime) -> str:
    if value is None:
        return "never"
    seconds = max(0, int((now - value).total_seconds()))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit} ago"
    return f"{seconds} s ago"


def crawl_by_kind(
    urls: Sequence[str],
    config: Config,
    *,
    kind: str,
    query: str,
    depth: int,
    progress: Callable[[str], None],
) -> tuple[CrawlReport, dict[str, str]]:
    """Crawl `urls` now, each read as its kind; return the merged report and each URL's kind."""
    from worker.crawls import CrawlReport, crawl

    kinds = {url: kind or recognise(url) for url in urls}
    groups: dict[str, list[str]] = {}
    for url, its_kind in kinds.items():
        groups.setdefault(its_kind, []).append(url)
    if not urls and kind:
        groups[kind] = []  # a search named by its query alone (xsearch)
    merged = CrawlReport()
    for its_kind, group in groups.items():
        report = crawl(
            list(group), config, depth=depth, kind=its_kind, query=query, progress=progress
        )
        merged.pages += report.pages
        merged.spaces.extend(report.spaces)
        merged.errors += report.errors
        merged.error_messages.extend(report.error_messages)
        merged.refused += report.refused
        merged.refused_messages.extend(report.refused_messages)
        merged.duration_s += report.duration_s
    return merged, kinds
