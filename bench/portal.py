"""Load-test the portal as deployed: gunicorn workers over a seeded catalog, driven by aiohttp.

The query mix. Real search traffic is skewed: a few queries (a popular topic, "live",
the empty browse) make up much of it, and a long tail is asked once in a while. The
benchmark draws POOL distinct searches from `search.bench.query_mix` (single words,
pairs, typed prefixes, state and topic filters, sorts, second pages) and sends them
with Zipf-like frequencies: the search of rank r is asked with weight 1 / r**ZIPF_S.
Search pages and the API get the same mix, each query in its canonical form (the
parameters in the order the portal's own links use).

While it runs, the catalog changes the way liveness checks change it, CHURN_PER_S
times a second through the catalog (so the index is written each time): a space gets a
new audience, and one change in STATE_EVERY moves a space on (scheduled to live, live to
ended). Every HIDE_EVERY_S an admin hides a space, which drops every cached response
at once. The cache hit rate reported is that of a portal whose index moves.

The load comes from another process, with CONCURRENCY clients each waiting for its
answer, for a fixed time; the load average when it starts is reported with the figures
(on a busy machine they mean little).
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp

from bench.corpus import fill
from bench.net import free_port
from bench.search import query_mix
from core.catalog.db import Catalog
from core.catalog.migrate import upgrade
from core.catalog.models import Space
from core.catalog.records import Observation
from core.catalog.spaces import record_observation
from core.catalog.states import State
from core.config import Config
from core.redisconn import close, embedded_redis, embedded_redis_url
from core.search.fts5 import Fts5Backend
from core.services import build_services
from spaces.up import portal_worker_flags

CONCURRENCY = 16
POOL, ZIPF_S, SEQUENCE = 400, 1.0, 20_000
CHURN_PER_S, STATE_EVERY, HIDE_EVERY_S = 10, 5, 10.0
REQUEST_TIMEOUT_S = 30
ORDER = ("q", "state", "lang", "topic", "host", "sort", "page")


def seed(data_dir: Path, count: int) -> None:
    """Create a catalog of `count` synthetic spaces, indexed, in `data_dir`."""
    url = f"sqlite:///{data_dir / 'spaces.db'}"
    upgrade(url)
    catalog = Catalog(url)
    try:
        fill(catalog, Fts5Backend(catalog), count, seed=count)
    finally:
        catalog.dispose()


def distinct_queries(size: int = POOL) -> list[dict[str, Any]]:
    """Return `size` distinct searches, in the order their popularity ranks them."""
    seen: dict[str, dict[str, Any]] = {}
    for params in query_mix(size * 4, seed=11):
        canonical = {name: params[name] for name in ORDER if params.get(name)}
        seen.setdefault(urlencode(canonical), canonical)
        if len(seen) == size:
            break
    return list(seen.values())


def paths(count: int = SEQUENCE, seed: int = 5) -> tuple[list[str], list[str]]:
    """Return (API requests, search page requests): `count` Zipf-distributed searches."""
    pool = distinct_queries()
    weights = [1 / (rank + 1) ** ZIPF_S for rank in range(len(pool))]
    chosen = random.Random(seed).choices(pool, weights, k=count)
    api = [_path("/api/v1/spaces", params) for params in chosen]
    pages = [_path("/search", params) for params in chosen]
    return api, pages


def _path(base: str, params: dict[str, Any]) -> str:
    return f"{base}?{urlencode(params)}" if params else base


async def _drive(base: str, targets: list[str], seconds: float) -> dict[str, Any]:
    times: list[float] = []
    errors = hits = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def worker(offset: int) -> None:
            nonlocal errors, hits
            i = offset
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(targets[i % len(targets)]) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                    hits += response.headers.get("X-Cache") == "hit"
                times.append((time.perf_counter() - started) * 1000)
                i += CONCURRENCY

        # A fixed number of clients, each waiting for its answer: load stays bounded.
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
    return {"times": times, "errors": errors, "hits": hits}


def drive(base: str, targets: list[str], seconds: float) -> dict[str, float]:
    """Send requests for `seconds` from this process; return rate, latencies, hit rate."""
    found = asyncio.run(_drive(base, targets, seconds))
    times = sorted(found["times"])
    count = len(times)
    return {
        "rps": count / seconds,
        "p50": times[count // 2] if times else 0.0,
        "p99": times[min(count - 1, int(count * 0.99))] if times else 0.0,
        "errors": found["errors"],
        "hit_rate": found["hits"] / count if count else 0.0,
    }


def gunicorn_flags() -> list[str]:
    """Return the worker flags `spaces portal` and `spaces up` run gunicorn with."""
    return portal_worker_flags()


def start_portal(data_dir: Path, port: int, redis_url: str) -> subprocess.Popen[bytes]:
    """Start the portal under gunicorn on `data_dir`; return once it answers."""
    env = {
        **os.environ,
        "SPACES_DATA_DIR": str(data_dir),
        "SPACES_REDIS_URL": redis_url,
        "SPACES_SECRET_KEY": secrets.token_urlsafe(16),
        "SPACES_ROOMS_SECRET": secrets.token_urlsafe(16),
    }
    for name in ("SPACES_DATABASE_URL", "SPACES_ELASTICSEARCH_URL"):
        env.pop(name, None)
    command = [sys.executable, "-m", "gunicorn", *gunicorn_flags(),
               "--bind", f"127.0.0.1:{port}", "--log-level", "warning",
               "portal.wsgi:app"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/spaces", timeout=5):
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("the portal did not start under gunicorn") from None
            time.sleep(0.2)


def _churn(data_dir: Path, redis_url: str, count: int, stop: threading.Event) -> None:
    """Change spaces as liveness checks and curators would, until `stop` is set."""
    moves = {State.SCHEDULED: State.LIVE, State.LIVE: State.ENDED}
    config = Config.from_env({"SPACES_DATA_DIR": str(data_dir), "SPACES_REDIS_URL": redis_url})
    services = build_services(config)
    rng = random.Random(3)
    changes = 0
    next_hide = time.monotonic() + HIDE_EVERY_S
    try:
        while not stop.wait(1 / CHURN_PER_S):
            changes += 1
            with services.catalog.session() as session:
                space = session.get(Space, rng.randint(1, count))
                if space is None:
                    continue
                if time.monotonic() >= next_hide:
                    space.hidden = True
                    next_hide += HIDE_EVERY_S
                    continue
                state = State(space.state)
                if changes % STATE_EVERY == 0:
                    state = moves.get(state, state)
                seen = Observation(state=state, listener_count=rng.randint(1, 500))
                record_observation(session, space, seen)
    finally:
        services.close()


def _measure(
    base: str, data_dir: Path, redis_url: str, count: int, seconds: float
) -> dict[str, float]:
    api, pages = paths()
    results: dict[str, float] = {}
    stop = threading.Event()
    churn = threading.Thread(target=_churn, args=(data_dir, redis_url, count, stop), daemon=True)
    churn.start()
    try:
        with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
            for name, targets in (("search", pages), ("api", api)):
                found = pool.submit(drive, base, targets, seconds).result(timeout=seconds + 120)
                if found["errors"]:
                    raise RuntimeError(f"{found['errors']} {name} requests failed")
                results[f"portal.{name}_rps"] = round(found["rps"], 1)
                results[f"portal.{name}_p50_ms"] = round(found["p50"], 2)
                results[f"portal.{name}_p99_ms"] = round(found["p99"], 2)
                results[f"portal.{name}_cache_hit_rate"] = round(found["hit_rate"], 3)
    finally:
        stop.set()
        churn.join(timeout=30)
    return results


def run(quick: bool = False, data_dir: Path | None = None) -> dict[str, float]:
    """Return requests per second, latencies and cache hit rates of search pages and the API.

    `data_dir` reuses a catalog seeded before (with 100k spaces, or 10k when quick).
    """
    count, seconds = (10_000, 8.0) if quick else (100_000, 25.0)

    with tempfile.TemporaryDirectory(prefix="spaces-load-") as tmp:
        if data_dir is None:
            data_dir = Path(tmp)
            seed(data_dir, count)
        # One Redis server for the portal's workers and the churn, owned by this process.
        server = embedded_redis(Path(tmp) / "redis")
        redis_url = embedded_redis_url(server)
        load = os.getloadavg()[0]
        print(f"portal load test: load average {load:.2f} at start", file=sys.stderr)
        port = free_port()
        portal = start_portal(data_dir, port, redis_url)
        try:
            results = _measure(f"http://127.0.0.1:{port}", data_dir, redis_url, count, seconds)
        finally:
            portal.terminate()
            try:
                portal.wait(timeout=20)
            except subprocess.TimeoutExpired:
                portal.kill()
                portal.wait()
            close(server)
    results["portal.load_avg_1m_at_start"] = round(load, 2)
    results["portal.cores"] = float(os.cpu_count() or 1)
    return results


if __name__ == "__main__":
    import json

    reuse = Path(sys.argv[sys.argv.index("--data") + 1]) if "--data" in sys.argv else None
    print(json.dumps(run(quick="--quick" in sys.argv, data_dir=reuse), indent=2))
