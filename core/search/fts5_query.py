"""Queries of the FTS5 backend: ranked pages, facet counts, spelling candidates."""

from __future__ import annotations

import heapq
import time
from collections import Counter
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from core.search.base import SearchHit, SearchQuery, SearchResult
from core.search.fts5_schema import TOPIC_SEP, split_topics, tag
from core.search.sql import TOPIC_FACET_SIZE
from core.search.text import filter_value, marked_snippet

# Broad matches are ranked among their newest WINDOW matches (ids grow with time, and
# the portal is about what is live or new) plus the newest WINDOW live ones; counting
# and scoring every one of 100k matches is what made broad queries slow.
WINDOW = 500

# Column weights for bm25(): title, host, topics, description, tags (never scored).
WEIGHTS = "10.0, 5.0, 3.0, 1.0, 0.0"

EMPTY: dict[str, dict[str, int]] = {"state": {}, "lang": {}, "topic": {}}


def match_expression(terms: list[str], *, all_prefix: bool = False) -> str:
    """Return an FTS5 MATCH string: every term quoted, the last (or all) as a prefix."""
    parts = []
    for i, term in enumerate(terms):
        is_prefix = all_prefix or (i == len(terms) - 1 and len(term) >= 2)
        # query_terms() leaves only letters and digits, so the quotes cannot be broken.
        parts.append(f'"{term}"*' if is_prefix else f'"{term}"')
    return " ".join(parts)


def filter_tags(query: SearchQuery) -> list[str]:
    """Return the tag tokens of the query's filters."""
    out = []
    for kind, value in (
        ("s", query.state),
        ("l", query.lang),
        ("h", query.host),
        ("t", query.topic),
    ):
        if value:
            out.append(tag(kind, filter_value(value)))
    return out


def text_search(conn: Connection, query: SearchQuery, terms: list[str]) -> SearchResult:
    """Return a ranked page for words, with counts (estimated for very broad matches)."""
    words = "{title host topics description} : (" + match_expression(terms) + ")"
    tags = " ".join(f'tags : "{t}"' for t in filter_tags(query))
    match = f"{words} AND {tags}" if tags else words
    total = conn.execute(
        text("SELECT count(*) FROM fts_spaces WHERE fts_spaces MATCH :m"), {"m": match}
    ).scalar_one()
    if not total:
        return SearchResult(total=0, hits=[], facets=copy_facets(EMPTY))
    window = max(WINDOW, query.offset + query.per_page)
    live = f'{match} AND tags : "{tag("s", "live")}"'
    # One pass over at most 2 x WINDOW candidates: bm25() runs only for the rows the
    # LIMITed subqueries return, and ranking and counting them is cheaper in Python
    # than asking SQLite three times.
    newest = (
        f"SELECT rowid AS id, bm25(fts_spaces, {WEIGHTS}) AS r, 0 AS extra"  # noqa: S608
        " FROM fts_spaces WHERE fts_spaces MATCH :m ORDER BY rowid DESC LIMIT :window"
    )
    lively = newest.replace(":m", ":live").replace("0 AS extra", "1 AS extra")
    lively = lively.replace(":window", ":live_window")
    sql = (
        f"SELECT w.id, w.r, w.extra, d.state, d.lang, d.topics, d.live, d.listener_count,"  # noqa: S608
        " d.boost, d.activity, d.scheduled_start"
        f" FROM (SELECT * FROM ({newest}) UNION ALL SELECT * FROM"
        f" ({lively})) w"
        " JOIN fts_spaces_docs d ON d.id = w.id"
    )
    params = {"m": match, "live": live, "window": window, "live_window": window // 2}
    # Plain tuples from the driver: building a Row object per candidate cost more than
    # the query itself.
    cursor = conn.connection.cursor()
    try:
        rows = cursor.execute(sql, params).fetchall()
    finally:
        cursor.close()
    counted = [row for row in rows if not row[2]]
    facets = _count(counted)
    approximate = total > len(counted)
    if approximate and counted:
        facets = _scaled(facets, total / len(counted))
    ranked = _rank(rows, query.sort, time.time(), query.offset + query.per_page)[query.offset :]
    texts = _texts(conn, [doc_id for _, doc_id, _ in ranked])
    hits = [
        SearchHit(id=doc_id, score=score, snippet=marked_snippet(texts[doc_id], terms))
        for _, doc_id, score in ranked
    ]
    return SearchResult(total=total, hits=hits, facets=facets, approximate=approximate)


def _rank(rows: list[tuple[Any, ...]], sort: str, now: float, count: int) -> list[tuple[Any, ...]]:
    """Return the first `count` distinct candidates as (key, id, score), ordered by `sort`.

    Rows are (id, bm25, extra, state, lang, topics, live, listeners, boost, activity,
    scheduled_start), as the candidate query selects them.
    """
    far = float("inf")
    keyed: dict[int, tuple[Any, ...]] = {}
    for doc_id, r, _, state, _, _, live, listeners, boost, activity, start in rows:
        recency = -activity if activity is not None else far
        if sort == "relevance":
            score = -r * boost * (1.0 + 1.0 / (1.0 + abs(now - (activity or 0.0)) / 86400.0))
            key: tuple[Any, ...] = (-live, -score, -doc_id)
        else:
            score = -r * boost
            if sort == "listeners":
                key = (-listeners, recency, -doc_id)
            elif sort == "recent":
                key = (recency, -doc_id)
            else:
                soon = start if state == "scheduled" and start is not None else far
                key = (soon, recency, -doc_id)
        keyed[doc_id] = (key, doc_id, score)
    return heapq.nsmallest(count, keyed.values())


def _count(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, int]]:
    # Counter over whole lists (and one split of all topics) counts in C, not per row.
    states = Counter([row[3] for row in rows])
    langs = Counter([row[4] for row in rows])
    topics = Counter(TOPIC_SEP.join([row[5] for row in rows]).split(TOPIC_SEP))
    for counts in (states, langs, topics):
        counts.pop("", None)
    return {
        "state": dict(ordered(states)),
        "lang": dict(ordered(langs)),
        "topic": dict(ordered(topics)[:TOPIC_FACET_SIZE]),
    }


def _texts(conn: Connection, ids: list[int]) -> dict[int, Any]:
    if not ids:
        return {}
    sql = text("SELECT id, title, description FROM fts_spaces_docs WHERE id IN :ids")
    sql = sql.bindparams(bindparam("ids", expanding=True))
    return {row.id: row for row in conn.execute(sql, {"ids": ids}).mappings()}


def ordered(counts: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


def _scaled(facets: dict[str, dict[str, int]], factor: float) -> dict[str, dict[str, int]]:
    return {
        name: {k: round(n * factor) for k, n in counts.items()} for name, counts in facets.items()
    }


def copy_facets(facets: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    return {name: dict(counts) for name, counts in facets.items()}


def vocabulary(conn: Connection, low: str, high: str) -> list[tuple[str, int]]:
    """Return the title, host and topic words in [low, high) with their document counts."""
    sql = "SELECT term, doc FROM fts_spaces_vocab WHERE term >= :low AND term < :high"
    return [(term, n) for term, n in conn.execute(text(sql), {"low": low, "high": high})]


def is_known(conn: Connection, term: str) -> bool:
    """Say whether any indexed text has this word (stemmed as searches are)."""
    sql = "SELECT 1 FROM fts_spaces WHERE fts_spaces MATCH :m LIMIT 1"
    words = "{title host topics description} : " + f'"{term}"'
    return conn.execute(text(sql), {"m": words}).first() is not None


def suggest_rows(conn: Connection, terms: list[str], limit: int) -> list[dict[str, Any]]:
    """Return the documents whose names start with the typed words, best first."""
    sql = (
        "SELECT d.title, d.topics, d.host_name, d.host_handle"
        " FROM fts_spaces_names n JOIN fts_spaces_docs d ON d.id = n.rowid"
        " WHERE fts_spaces_names MATCH :match"
        " ORDER BY d.live DESC, d.listener_count DESC, d.id DESC LIMIT :n"
    )
    params = {"match": match_expression(terms, all_prefix=True), "n": limit}
    return [
        {**row, "topics": split_topics(row["topics"])}
        for row in conn.execute(text(sql), params).mappings()
    ]
