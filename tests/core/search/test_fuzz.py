"""Seeded random user input never makes a backend, or the API over it, fail."""

from __future__ import annotations

import random
from collections.abc import Iterator
from urllib.parse import urlencode

from core.search.base import SearchBackend, SearchQuery
from tests.conftest import _base_config
from tests.core.search.test_contract import doc

PIECES = [
    "jazz", "Jazz", "pyhton", "morning", "a", "ab", "x", "é", "日本", "🎷", "ﷺ", "\u202e",
    "\u0000", "\x1f", "\ue000", "\ue001", '"', "'", "*", "-", "+", "^", "~", ":", "(", ")",
    "[", "]", "{", "}", "/", "\\", "|", "&", "!", "?", "%", "_", "@", "#", ";", "--", "AND",
    "OR", "NOT", "NEAR", "NEAR/2", "title:", "tags:", "zs6c6976659", "<mark>", "</mark>",
    "<script>", "&amp;", " ", "  ", "\t", "\n", "0", "1e9", "-1", "null", "🏳️‍🌈",
]  # fmt: skip
FIELDS = ("state", "lang", "topic", "host", "sort")


def hostile_queries(seed: int, count: int) -> Iterator[str]:
    """Yield `count` random strings glued from operators, scripts, controls and words."""
    rng = random.Random(seed)
    for _ in range(count):
        parts = rng.choices(PIECES, k=rng.randint(1, 8))
        if rng.random() < 0.2:
            parts.append("".join(chr(rng.randint(1, 0x2FFFF)) for _ in range(rng.randint(1, 6))))
        yield "".join(p if rng.random() < 0.5 else p + " " for p in parts)[:500]


def _index(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, "Morning jazz session", state="live", topics=["music"], listener_count=5),
            doc(2, "Python club", topics=["tech", "日本"], lang="ja"),
            doc(3, "Café 🎷 talk", state="scheduled", host_handle="ella"),
        ]
    )


def test_random_queries_never_raise(backend: SearchBackend) -> None:
    _index(backend)
    rng = random.Random(11)
    for q in hostile_queries(seed=7, count=150):
        try:
            result = backend.search(SearchQuery(q=q.strip(), per_page=5))
            assert result.total >= 0 and len(result.hits) <= 5
            backend.suggest(q)
            backend.search(
                SearchQuery(
                    q=q,
                    topic=q or None,
                    host=q[:20] or None,
                    lang=q[:5] or None,
                    sort=rng.choice(["relevance", "listeners", "recent", "starting"]),
                    page=rng.randint(1, 3),
                )
            )
        except Exception as error:
            raise AssertionError(f"{backend.name}: query {q[:60]!r} failed: {error!r}") from error


def test_random_requests_never_get_a_server_error(
    backend: SearchBackend, data_dir, sqlite_url
) -> None:
    from core.catalog.migrate import upgrade
    from core.services import build_services
    from portal.app import create_app

    _index(backend)
    upgrade(sqlite_url)
    config = _base_config(data_dir, sqlite_url)
    services = build_services(config, search=backend)
    client = create_app(config, services).test_client()
    rng = random.Random(5)
    try:
        for q in hostile_queries(seed=3, count=60):
            params = {"q": q}
            for name in rng.sample(FIELDS, rng.randint(0, 3)):
                params[name] = rng.choice([q, "live", "relevance", "", "0", "-1", "x" * 300])
            for path in ("/api/v1/spaces?", "/search?", "/api/v1/suggest?"):
                # A URL carries UTF-8 only: lone surrogates arrive as replacement marks.
                query = urlencode(params, encoding="utf-8", errors="replace")
                response = client.get(path + query)
                assert response.status_code < 500, (path, params, response.status_code)
    finally:
        services.close()
