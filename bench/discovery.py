"""Benchmark discovery: how soon a space published anywhere becomes searchable, and how surely.

A loopback corpus (bench.peers.corpus) serves sources of every kind: a page, an RSS
feed with links only in its bodies, a podcast feed with live items, a Mastodon
hashtag, a Bluesky search, an X Spaces search, a Nostr relay and a feed pushed by a
WebSub hub. The product runs as `spaces up` runs it (catalog in a temporary data dir,
the portal for WebSub callbacks, two workers with the schedule, the relay subscriber),
with the sources added at the minimum interval. After every source was read once,
each publishes new spaces, and look-alikes that are not spaces, at random moments;
the search backend is watched until it holds each space. Then, apart, one crawler
process polls many Mastodon and Bluesky sources spread over loopback addresses.
"""

from __future__ import annotations

import json
import logging
import os
import random
import resource
import secrets
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from bench.net import free_port
from bench.peers.bluesky_server import BlueskyServer
from bench.peers.corpus import KINDS, PUSHED, TAG, Corpus
from bench.peers.mastodon_server import MastodonServer, card
from bench.peers.x_server import TOKEN
from core.catalog.models import Source, Space
from core.catalog.sources import add_source, source_address
from core.config import Config
from core.queues import CRAWL, CRAWL_NOW, LIVENESS
from core.search.base import MAX_PER_PAGE, SearchQuery
from core.services import Services, build_services
from spaces.up import Stack
from worker.crawls import poll_sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """The size of one run."""

    interval_s: int  # every source's poll interval
    window_s: float  # new spaces are published over this long
    per_kind: int  # spaces published by each source
    grace_s: float  # after the last one, how long to wait for what is still missing
    poll_sources: int  # sources polled by one process for polls_per_s
    poll_hosts: int  # spread over this many loopback addresses


FULL = Plan(interval_s=10, window_s=120.0, per_kind=12, grace_s=45.0, poll_sources=1000,
            poll_hosts=50)  # fmt: skip
QUICK = Plan(interval_s=10, window_s=25.0, per_kind=3, grace_s=30.0, poll_sources=300,
             poll_hosts=20)  # fmt: skip
WARMUP_S = 60.0
WATCH_EVERY_S = 0.2


def run(quick: bool = False) -> dict[str, float]:
    """Run the discovery benchmark; return its figures keyed `discovery.*`."""
    plan = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="spaces-discovery-bench-") as tmp:
        corpus = Corpus().start()
        try:
            config = _config(Path(tmp), corpus)
            with Stack(config) as stack:
                stack.prepare_catalog()
                services = build_services(stack.config)
                try:
                    _add_sources(services, corpus, plan.interval_s)
                    stack.start_portal("127.0.0.1", int(config.portal_url.rsplit(":", 1)[1]))
                    stack.start_worker(queues=[CRAWL_NOW, LIVENESS])
                    stack.start_worker(queues=[CRAWL_NOW, CRAWL], scheduler=False, name="crawler")
                    stack.start_relays()
                    figures = _discover(services, corpus, plan)
                    figures.update(_polls_per_s(stack.config, plan))
                finally:
                    services.close()
        finally:
            corpus.stop()
    return figures


def _config(data_dir: Path, corpus: Corpus) -> Config:
    env = {
        "SPACES_DATA_DIR": str(data_dir),
        "SPACES_SECRET_KEY": secrets.token_urlsafe(16),
        "SPACES_ROOMS_SECRET": secrets.token_urlsafe(16),
        "SPACES_CRAWL_ALLOW": "127.0.0.0/8",  # every server of the corpus is on loopback
        "SPACES_PORTAL_URL": f"http://127.0.0.1:{free_port()}",
        "SPACES_X_BEARER_TOKEN": TOKEN,
        "SPACES_X_API_URL": corpus.x.base,
    }
    return Config.from_env(env)


def _add_sources(services: Services, corpus: Corpus, interval_s: int) -> None:
    with services.catalog.session() as session:
        for url, kind, query in corpus.sources():
            address = source_address(url, kind, query, x_api_url=corpus.x.base)
            add_source(session, address, kind=kind, query=query, interval_s=interval_s, depth=0)


def _discover(services: Services, corpus: Corpus, plan: Plan) -> dict[str, float]:
    """Publish spaces over the window and watch the index; return the latency figures."""
    warm = _warm_up(services, corpus)
    rng = random.Random(53)
    begin = time.time() + 1.0
    plan_times = sorted(
        (begin + rng.uniform(0, plan.window_s), kind, n)
        for kind in KINDS
        for n in range(plan.per_kind)
    )
    published: dict[str, tuple[str, float]] = {}  # canonical URL -> (kind, when)
    found: dict[str, float] = {}
    deadline = plan_times[-1][0] + plan.interval_s + plan.grace_s
    while time.time() < deadline and (plan_times or len(found) < len(published)):
        while plan_times and plan_times[0][0] <= time.time():
            _at, kind, n = plan_times.pop(0)
            when = time.time()
            published[corpus.publish(kind, n)] = (kind, when)
        now = time.time()
        for url in _searchable(services, [u for u in published if u not in found]):
            found[url] = now
        time.sleep(WATCH_EVERY_S)
    return _figures(services, published, found, plan, warm)


def _warm_up(services: Services, corpus: Corpus) -> float:
    """Wait until every source was read once and both push sources hold subscriptions."""
    started = time.monotonic()
    while time.monotonic() - started < WARMUP_S:
        with services.catalog.sessions() as session:
            unread = session.scalar(select(Source.id).where(Source.last_run_at.is_(None)).limit(1))
        if unread is None and corpus.subscribed():
            break
        time.sleep(0.5)
    else:
        log.warning(
            "after %.0f s: relay subscriptions %d, hub subscriptions %d, sources unread: %s",
            WARMUP_S, corpus.relay.open_subscriptions(), len(corpus.hub.subscriptions),
            _unread(services),
        )  # fmt: skip
    return time.monotonic() - started


def _unread(services: Services) -> list[str]:
    with services.catalog.sessions() as session:
        return list(session.scalars(select(Source.url).where(Source.last_run_at.is_(None))))


def _searchable(services: Services, urls: list[str]) -> list[str]:
    """Return those of `urls` whose space the search backend holds."""
    if not urls:
        return []
    with services.catalog.sessions() as session:
        rows = session.execute(
            select(Space.id, Space.canonical_url).where(Space.canonical_url.in_(urls))
        ).all()
    indexed = _indexed_ids(services)
    return [url for space_id, url in rows if space_id in indexed]


def _indexed_ids(services: Services) -> set[int]:
    ids: set[int] = set()
    page = 1
    while True:
        result = services.search.search(
            SearchQuery(sort="recent", page=page, per_page=MAX_PER_PAGE)
        )
        ids.update(hit.id for hit in result.hits)
        if len(result.hits) < MAX_PER_PAGE:
            return ids
        page += 1


def _figures(
    services: Services,
    published: dict[str, tuple[str, float]],
    found: dict[str, float],
    plan: Plan,
    warm_s: float,
) -> dict[str, float]:
    with services.catalog.sessions() as session:
        catalogued = set(session.scalars(select(Space.canonical_url)))
    missed = sorted(url for url in published if url not in found)
    if missed:
        named = ", ".join(f"{published[url][0]} {url}" for url in missed)
        log.warning(
            "%d of %d spaces never became searchable: %s", len(missed), len(published), named
        )
    extra = sorted(catalogued - set(published))
    if extra:
        log.warning("%d spaces in the catalog were never published: %s", len(extra), extra)
    waited = plan.window_s + plan.interval_s + plan.grace_s  # what a missed one counts as
    lags: dict[str, list[float]] = {kind: [] for kind in KINDS}
    for url, (kind, when) in published.items():
        lags[kind].append(found[url] - when if url in found else waited)
    push = sorted(lag for kind in PUSHED for lag in lags[kind])
    poll = sorted(lag for kind in KINDS if kind not in PUSHED for lag in lags[kind])
    hits = len(catalogued & set(published))
    figures = {
        "discovery.precision": round(hits / len(catalogued), 4) if catalogued else 0.0,
        "discovery.recall": round(len(found) / len(published), 4),
        "discovery.push_found_p95_s": round(_percentile(push, 95), 2),
        "discovery.poll_found_p95_s": round(_percentile(poll, 95), 2),
        "discovery.poll_found_p95_intervals": round(_percentile(poll, 95) / plan.interval_s, 2),
        "discovery.warm_up_s": round(warm_s, 1),
    }
    for kind, values in lags.items():
        figures[f"discovery.{kind}_found_p95_s"] = round(_percentile(sorted(values), 95), 2)
    return figures


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    index = min(len(values) - 1, max(0, round(pct / 100 * len(values) + 0.5) - 1))
    return values[index]


def _polls_per_s(config: Config, plan: Plan) -> dict[str, float]:
    """Poll many Mastodon and Bluesky sources in one crawler process; return its rate.

    The product asks one host one request at a time, so the sources are spread over
    many loopback addresses (127.0.0.2, .3, ...), as real ones are over many servers.
    """
    servers: list[MastodonServer | BlueskyServer] = []
    specs: list[dict[str, object]] = []
    try:
        for h in range(plan.poll_hosts):
            server = MastodonServer() if h % 2 == 0 else BlueskyServer()
            server.host = f"127.0.0.{h + 2}"
            servers.append(server.start())
        for n in range(plan.poll_sources):
            specs.append(_poll_spec(servers[n % len(servers)], n))
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        report = poll_sources(specs, config)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        for server in servers:
            server.stop()
    failed = [polled for polled in report.polled if polled.get("reason")]
    if failed or len(report.polled) < len(specs):
        log.warning("%d of %d polls failed or were not reported; first: %s", len(failed),
                    len(specs), failed[:1] or report.error_messages[:1])  # fmt: skip
    ok = len(report.polled) - len(failed)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "discovery.polls_per_s": round(ok / max(report.duration_s, 1e-3), 1),
        "discovery.polls_per_cpu_s": round(ok / max(cpu, 1e-3), 1),
    }


def _poll_spec(server: MastodonServer | BlueskyServer, n: int) -> dict[str, object]:
    """Publish one post for source `n` on `server`; return the source's spec."""
    word = f"{TAG}{n}"
    url = f"https://x.com/i/spaces/1Poll{n:08d}"
    if isinstance(server, MastodonServer):
        account = server.add_account(f"host{n}")
        server.publish(account, f"<p>Live: {url}</p>", tags=(word,), card=card(url))
        return {"url": f"{server.base}/tags/{word}", "kind": "mastodon", "query": "", "id": None}
    profile = server.add_profile(f"host{n}.bsky.social")
    server.publish(profile, f"Live #{word} {url}")
    address = source_address(server.base, "bluesky", word)
    return {"url": address, "kind": "bluesky", "query": word, "id": None}


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
