"""Synthetic catalogs for benchmarks: realistic spaces written to a catalog and its index."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from core.catalog.db import Catalog
from core.catalog.models import Host, Space
from core.search.base import SearchBackend
from core.search.documents import space_document
from core.timeutil import utcnow

TOPICS = [
    "music", "jazz", "tech", "startups", "crypto", "politics", "news", "sports", "football",
    "gaming", "books", "poetry", "health", "fitness", "science", "space", "ai", "design",
    "film", "comedy", "food", "travel", "language", "history", "faith", "parenting",
]  # fmt: skip
WORDS = [
    "morning", "evening", "late", "night", "weekly", "daily", "open", "live", "talk",
    "session", "club", "hour", "chat", "roundtable", "podcast", "show", "q&a", "debate",
    "review", "meetup", "circle", "lounge", "corner", "radio", "stories", "ideas", "future",
    "founders", "builders", "fans", "beginners", "experts", "friends", "community", "deep",
    "dive", "coffee", "sunday", "friday", "global", "local", "indie", "classic", "new",
]  # fmt: skip
LANGS = ["en"] * 6 + ["es", "fr", "de", "pt", "ja"]
STATES = ["live"] * 2 + ["scheduled"] * 2 + ["ended"] * 6
QUERIES_PER_SIZE = 300
# Real descriptions have a long tail of rarer words; a few hundred made-up ones, drawn
# with Zipf-like weights, keep match sizes from being all "every fourth space".
TAIL = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "ro", "su", "ta", "vi") for b in WORDS]
TAIL_WEIGHTS = [1 / (rank + 1) for rank in range(len(TAIL))]


def _spaces(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    now = utcnow()
    for i in range(1, count + 1):
        topics = rng.sample(TOPICS, rng.randint(1, 3))
        state = rng.choice(STATES)
        started = now - timedelta(minutes=rng.randint(1, 60 * 24 * 30))
        yield {
            "id": i,
            "canonical_url": f"https://rooms.example/s/{i}",
            "url": f"https://rooms.example/s/{i}",
            "platform": "rooms",
            "title": " ".join([*rng.sample(WORDS, rng.randint(2, 4)), topics[0]]).capitalize(),
            "description": " ".join(
                rng.choices(WORDS + TOPICS, k=rng.randint(4, 12))
                + rng.choices(TAIL, TAIL_WEIGHTS, k=rng.randint(4, 18))
            ),
            "host_id": rng.randint(1, max(count // 20, 1)),
            "state": state,
            "listener_count": int(rng.paretovariate(1.2)) if state == "live" else 0,
            "started_at": None if state == "scheduled" else started,
            "scheduled_start": now + timedelta(hours=rng.randint(1, 96))
            if state == "scheduled"
            else None,
            "ended_at": started + timedelta(hours=1) if state == "ended" else None,
            "topics": topics,
            "lang": rng.choice(LANGS),
            "featured": rng.random() < 0.01,
            "updated_at": started if state != "scheduled" else now,
        }


def fill(catalog: Catalog, backend: SearchBackend, count: int, seed: int) -> float:
    """Write `count` spaces to the catalog and the index; return index docs per second."""
    rng = random.Random(seed)
    hosts = [
        {"id": h, "platform": "rooms:rooms.example", "handle": f"host{h}", "name": f"Host {h}"}
        for h in range(1, max(count // 20, 1) + 1)
    ]
    rows = list(_spaces(count, rng))
    with catalog.engine.begin() as conn:
        conn.execute(insert(Host), hosts)
        for start in range(0, len(rows), 20_000):
            conn.execute(insert(Space), rows[start : start + 20_000])
    names = {h["id"]: h for h in hosts}
    docs = []
    for row in rows:
        host = names[row["host_id"]]
        space = Space(**{k: v for k, v in row.items() if k != "host_id"}, version=1)
        space.host = Host(handle=host["handle"], name=host["name"])
        docs.append(space_document(space))
    backend.ensure()
    started = time.perf_counter()
    for start in range(0, len(docs), 500):
        backend.index(docs[start : start + 500])
    return len(docs) / (time.perf_counter() - started)
