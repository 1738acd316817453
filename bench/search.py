"""Measure search: engine and API latency at 100k and 1M spaces, indexing, relevance."""

from __future__ import annotations

import importlib.util
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import create_engine, text

from bench.corpus import TAIL, TOPICS, WORDS, fill
from core.catalog.db import Catalog
from core.catalog.migrate import upgrade
from core.config import Config
from core.search.base import SearchBackend, SearchQuery
from core.search.documents import IndexSync
from core.search.elastic import ElasticBackend
from core.search.fts5 import Fts5Backend
from core.search.postgres import PostgresBackend
from portal.app import create_app

QUERIES_PER_SIZE = 300
# 1M spaces take about six minutes (seeding and a rebuild); `spaces bench --quick`
# measures 10k alone.
FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (10_000,)


def query_mix(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Return a realistic mix of searches: words, pairs, typed prefixes, filters, sorts."""
    rng = random.Random(seed)
    vocabulary = WORDS + TOPICS + TAIL[:120]
    mix: list[dict[str, Any]] = []
    for _ in range(count):
        roll = rng.random()
        word = rng.choice(vocabulary)
        if roll < 0.35:
            mix.append({"q": word})
        elif roll < 0.55:
            mix.append({"q": f"{word} {rng.choice(vocabulary)}"})
        elif roll < 0.70:
            mix.append({"q": word[: rng.randint(2, 4)]})
        elif roll < 0.80:
            mix.append({"q": word, "state": "live"})
        elif roll < 0.87:
            mix.append({"topic": rng.choice(TOPICS)})
        elif roll < 0.92:
            mix.append({})
        elif roll < 0.96:
            mix.append({"q": word, "sort": "listeners", "page": 2})
        else:
            mix.append({"state": "scheduled", "sort": "starting"})
    return mix


def percentiles(
    run_one: Callable[[dict[str, Any]], object], mix: list[dict[str, Any]]
) -> tuple[float, float]:
    """Return (p50, p99) in milliseconds of running every query of the mix once."""
    for params in mix[:20]:  # warm the page cache and statement caches
        run_one(params)
    times = []
    for params in mix:
        started = time.perf_counter()
        run_one(params)
        times.append((time.perf_counter() - started) * 1000)
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return statistics.median(times), cuts[98]


def _measure_api(url: str, data_dir: Path, mix: list[dict[str, Any]]) -> tuple[float, float]:
    config = Config(
        data_dir=data_dir,
        database_url=url,
        secret_key=secrets.token_urlsafe(16),
        rooms_secret=secrets.token_urlsafe(16),
        testing=True,
        # Every request does the whole work: the figure is the uncached API's latency.
        extra={"response_cache_ttl_s": 0},
    )
    app = create_app(config)
    client = app.test_client()

    def one(params: dict[str, Any]) -> None:
        response = client.get("/api/v1/spaces?" + urlencode(params))
        if response.status_code != 200:
            raise RuntimeError(f"API answered {response.status_code} for {params}")

    try:
        return percentiles(one, mix)
    finally:
        app.extensions["spaces"].close()


def _embedded(tmp: Path, size: int, mix: list[dict[str, Any]], results: dict[str, float]) -> None:
    label = f"{size // 1000}k" if size < 1_000_000 else f"{size // 1_000_000}M"
    url = f"sqlite:///{tmp / f'catalog-{label}.db'}"
    upgrade(url)
    catalog = Catalog(url)
    backend = Fts5Backend(catalog)
    try:
        rate = fill(catalog, backend, size, seed=size)
        results.setdefault("search.index_docs_per_s", round(rate))
        # Queries run on a freshly rebuilt index, as after `spaces search reindex`.
        started = time.perf_counter()
        IndexSync(catalog, backend).reindex_all()
        results[f"search.reindex_s@{label}"] = round(time.perf_counter() - started, 2)
        p50, p99 = percentiles(lambda p: backend.search(SearchQuery(**p)), mix)
        results[f"search.engine_p50_ms@{label}"] = round(p50, 3)
        results[f"search.engine_p99_ms@{label}"] = round(p99, 3)
    finally:
        catalog.dispose()
    data_dir = tmp / f"var-{label}"
    data_dir.mkdir()
    p50, p99 = _measure_api(url, data_dir, mix)
    results[f"search.api_p50_ms@{label}"] = round(p50, 3)
    results[f"search.api_p99_ms@{label}"] = round(p99, 3)
    Path(url.removeprefix("sqlite:///")).unlink()


def _elastic_url() -> str:
    return os.environ.get("SPACES_ELASTICSEARCH_URL") or os.environ.get(
        "SPACES_TEST_ELASTICSEARCH_URL", ""
    )


def _elastic(tmp: Path, size: int, mix: list[dict[str, Any]], results: dict[str, float]) -> None:
    url = f"sqlite:///{tmp / 'catalog-es.db'}"
    upgrade(url)
    catalog = Catalog(url)
    backend = ElasticBackend.from_url(_elastic_url(), index_prefix=f"spaces-bench-{os.getpid()}")
    try:
        backend.ensure()
        results["search.elastic_index_docs_per_s"] = round(fill(catalog, backend, size, seed=1))
        backend.client.indices.refresh(index=backend.alias)
        p50, p99 = percentiles(lambda p: backend.search(SearchQuery(**p)), mix)
        label = f"{size // 1000}k"
        results[f"search.elastic_p50_ms@{label}"] = round(p50, 3)
        results[f"search.elastic_p99_ms@{label}"] = round(p99, 3)
    finally:
        backend.client.indices.delete(index=f"{backend.alias}-*", ignore_unavailable=True)
        catalog.dispose()


def relevance(results: dict[str, float]) -> None:
    """Add nDCG@10 on the judged corpus for each backend that can run here."""
    # The judged set lives with the tests; an installed package without them skips this.
    path = Path(__file__).resolve().parents[1] / "tests" / "core" / "search" / "judged.py"
    if not path.exists():
        return
    spec = importlib.util.spec_from_file_location("spaces_judged", path)
    assert spec is not None and spec.loader is not None
    judged = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(judged)
    documents, mean_ndcg = judged.documents, judged.mean_ndcg

    def score(backend: SearchBackend) -> float:
        backend.ensure()
        backend.index(documents())
        ndcg: float = mean_ndcg(lambda q: [h.id for h in backend.search(SearchQuery(q=q)).hits])
        return round(ndcg, 3)

    with tempfile.TemporaryDirectory(prefix="spaces-ndcg-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'judged.db'}"
        upgrade(url)
        catalog = Catalog(url)
        try:
            results["search.ndcg10_fts5"] = score(Fts5Backend(catalog))
        finally:
            catalog.dispose()
    if _elastic_url():
        backend = ElasticBackend.from_url(_elastic_url(), index_prefix="spaces-ndcg")
        backend.refresh = True
        try:
            results["search.ndcg10_elastic"] = score(backend)
        finally:
            backend.client.indices.delete(index="spaces-ndcg-*", ignore_unavailable=True)
    _postgres_relevance(score, results)


def _postgres_relevance(score: Callable[[SearchBackend], float], results: dict[str, float]) -> None:
    admin_url = os.environ.get(
        "SPACES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    name = f"spaces_ndcg_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception:  # no PostgreSQL here: the figure is simply left out
        admin.dispose()
        return

    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    catalog = Catalog(url)
    try:
        results["search.ndcg10_postgres"] = score(PostgresBackend(catalog))
    finally:
        catalog.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run(quick: bool = False) -> dict[str, float]:
    """Return latency percentiles (engine and API), index and reindex rates, and nDCG."""
    results: dict[str, float] = {}
    mix = query_mix(QUERIES_PER_SIZE)
    relevance(results)
    with tempfile.TemporaryDirectory(prefix="spaces-bench-") as tmp:
        for size in QUICK_SIZES if quick else FULL_SIZES:
            _embedded(Path(tmp), size, mix, results)
        if _elastic_url():
            _elastic(Path(tmp), 10_000, mix, results)
    return results


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
