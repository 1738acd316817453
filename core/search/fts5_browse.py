"""Browsing the FTS5 backend without words: filters, sorts, and counts kept in step."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.search.base import SearchHit, SearchQuery, SearchResult
from core.search.fts5_query import EMPTY, copy_facets, ordered
from core.search.sql import ORDER, TOPIC_FACET_SIZE, filter_clauses
from core.search.text import filter_value, plain_snippet


def browse(conn: Connection, query: SearchQuery) -> SearchResult:
    """Return a page without words: filters and a sort, counts from the kept totals."""
    where, params = _where(query)
    clause = " AND ".join(where) or "1"
    order = ORDER["browse" if query.sort == "relevance" else query.sort]
    if query.sort == "starting" and query.state == "scheduled":
        order = "d.scheduled_start ASC NULLS LAST, d.activity DESC NULLS LAST, d.id DESC"
    params.update(limit=query.per_page, offset=query.offset)
    rows = (
        conn.execute(
            text(
                "SELECT d.id, d.title, d.description, d.boost AS score"  # noqa: S608
                f" FROM fts_spaces_docs d WHERE {clause} ORDER BY {order}"
                " LIMIT :limit OFFSET :offset"
            ),
            params,
        )
        .mappings()
        .all()
    )
    if query.host:
        # One host's spaces are few; their counts are taken from the rows themselves.
        total, facets = _facets(conn, "fts_spaces_docs d", clause, "d.id", params)
    else:
        total, facets = _kept_facets(conn, query)
        if query.topic:
            facets["topic"] = _topics_beside(conn, query, params)
    hits = [
        SearchHit(
            id=r["id"],
            score=float(r["score"]),
            snippet=plain_snippet(r["description"] or r["title"]),
        )
        for r in rows
    ]
    return SearchResult(total=total, hits=hits, facets=facets)


# Topics live in their own table beside the docs.
TOPIC_CLAUSE = (
    "EXISTS (SELECT 1 FROM fts_spaces_topics t WHERE t.doc_id = d.id AND t.topic = :topic)"
)


def _where(query: SearchQuery) -> tuple[list[str], dict[str, Any]]:
    params: dict[str, Any] = {}
    return filter_clauses(query, params, TOPIC_CLAUSE), params


def _kept_facets(conn: Connection, query: SearchQuery) -> tuple[int, dict[str, dict[str, int]]]:
    where, params = ["1"], {}
    if query.state:
        where.append("state = :state")
        params["state"] = query.state
    if query.lang:
        where.append("lang = :lang")
        params["lang"] = filter_value(query.lang)
    if query.topic:
        # The (state, lang, topic) counts of this one topic are its state and lang facets.
        where.append("topic = :topic")
        params["topic"] = filter_value(query.topic)
    rows = conn.execute(
        text(f"SELECT state, lang, topic, n FROM fts_spaces_stats WHERE {' AND '.join(where)}"),  # noqa: S608
        params,
    ).all()
    facets = copy_facets(EMPTY)
    total = 0
    topics: dict[str, int] = {}
    for state, lang, topic, n in rows:
        if topic and not query.topic:
            topics[topic] = topics.get(topic, 0) + n
            continue
        total += n
        for name, key in (("state", state), ("lang", lang)):
            if key:
                facets[name][key] = facets[name].get(key, 0) + n
    facets["topic"] = dict(ordered(topics)[:TOPIC_FACET_SIZE])
    return total, {
        **facets,
        "state": dict(ordered(facets["state"])),
        "lang": dict(ordered(facets["lang"])),
    }


def _topics_beside(conn: Connection, query: SearchQuery, params: dict[str, Any]) -> dict[str, int]:
    """Return the topics of the spaces that have the filtered topic (and state, lang)."""
    where = ["t.topic = :topic"]
    source = "fts_spaces_topics t JOIN fts_spaces_topics t2 ON t2.doc_id = t.doc_id"
    if query.state or query.lang:
        source += " JOIN fts_spaces_docs d ON d.id = t.doc_id"
        where += [
            w
            for w in ("d.state = :state" * bool(query.state), "d.lang = :lang" * bool(query.lang))
            if w
        ]
    sql = (
        f"SELECT t2.topic, count(*) AS n FROM {source} WHERE {' AND '.join(where)}"  # noqa: S608
        f" GROUP BY t2.topic ORDER BY n DESC, t2.topic LIMIT {TOPIC_FACET_SIZE}"
    )
    return {topic: n for topic, n in conn.execute(text(sql), params)}


def _facets(
    conn: Connection, source: str, clause: str, key: str, params: dict[str, Any]
) -> tuple[int, dict[str, dict[str, int]]]:
    """Count the rows of `source` WHERE `clause` by state and lang, and by topic."""
    facets = copy_facets(EMPTY)
    rows = conn.execute(
        text(
            f"SELECT d.state, d.lang, count(*) FROM {source} WHERE {clause}"  # noqa: S608
            " GROUP BY d.state, d.lang"
        ),
        params,
    ).all()
    total = 0
    for state, lang, n in rows:
        total += n
        for name, value in (("state", state), ("lang", lang)):
            if value:
                facets[name][value] = facets[name].get(value, 0) + n
    facets["state"] = dict(ordered(facets["state"]))
    facets["lang"] = dict(ordered(facets["lang"]))
    if total:
        rows = conn.execute(
            text(
                f"SELECT tt.topic, count(*) AS n FROM {source}"  # noqa: S608
                f" JOIN fts_spaces_topics tt ON tt.doc_id = {key} WHERE {clause}"
                f" GROUP BY tt.topic ORDER BY n DESC, tt.topic LIMIT {TOPIC_FACET_SIZE}"
            ),
            params,
        ).all()
        facets["topic"] = {name: n for name, n in rows}
    return total, facets
