"""Search with PostgreSQL full-text search, in a table beside the catalog."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

from core.catalog.db import Catalog
from core.search.base import SearchHit, SearchQuery, SearchResult
from core.search.postgres_schema import ADDED, CREATE, TABLE, UPSERT, VOCAB, index_statements
from core.search.spelling import MAX_CANDIDATES, correct, letter_range
from core.search.sql import ORDER, TOPIC_FACET_SIZE, filter_clauses
from core.search.text import (
    flat_document,
    marked_snippet,
    pick_suggestions,
    query_terms,
    words_only,
)

# Same shape as the FTS5 score: text rank (weights D, C, B, A) times the audience, shares
# and featured boost, times a bonus largest near now (just started or about to start).
SCORE = (
    "ts_rank_cd('{0.1, 0.3, 0.5, 1.0}', d.tsv, query.q) * d.boost"
    " * (1.0 + 1.0 / (1.0 + abs(:now - coalesce(d.activity, 0)) / 86400.0))"
)


def tsquery_params(
    terms: list[str], *, prefix_all: bool = False, weights: str = ""
) -> dict[str, str]:
    """Return to_tsquery() inputs, one per term: quoted, the last (or all) as a prefix.

    query_terms() leaves only letters and digits, so no operator or quote can get in, and
    each term is still passed as a bound parameter.
    """
    params = {}
    for i, term in enumerate(terms):
        is_prefix = prefix_all or (i == len(terms) - 1 and len(term) >= 2)
        params[f"t{i}"] = f"'{term}':*{weights}" if is_prefix else f"'{term}'{weights}"
    return params


def tsquery_sql(count: int) -> str:
    """Return SQL that ANDs `count` terms, each matching its stem or its written form."""
    return " && ".join(
        f"(to_tsquery('english', :t{i}) || to_tsquery('simple', :t{i}))" for i in range(count)
    )


class PostgresBackend:
    """Search spaces with a weighted tsvector and GIN indexes in the catalog database."""

    name = "postgres"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.engine = catalog.engine

    def ensure(self) -> None:
        """Create the search table and its indexes if they are missing."""
        with self.engine.begin() as conn:
            # Concurrent first starts would race on CREATE ... IF NOT EXISTS; serialise them.
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(774411)")
            conn.exec_driver_sql(CREATE.format(table=TABLE))
            for statement in (*ADDED, *index_statements(TABLE)):
                conn.exec_driver_sql(statement)

    def index(self, docs: list[dict[str, Any]]) -> None:
        """Add or replace these documents in one transaction (newer stored versions win)."""
        if docs:
            with self.engine.begin() as conn:
                _write(conn, TABLE, docs)

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Load a shadow table, then swap it in with one transaction; return the count.

        Queries that arrive during the swap wait for its lock and then read the new table.
        """
        shadow = f"{TABLE}_next"
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {shadow}")
            conn.exec_driver_sql(CREATE.format(table=shadow))
            conn.exec_driver_sql(ADDED[0].replace(TABLE, shadow))
            conn.exec_driver_sql(ADDED[1].replace(TABLE, shadow))
        count = 0
        for batch in batches:
            with self.engine.begin() as conn:
                _write(conn, shadow, batch)
            count += len(batch)
        with self.engine.begin() as conn:
            for statement in index_statements(shadow, "_next"):
                conn.exec_driver_sql(statement)
        with self.engine.begin() as conn:
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(774411)")
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {TABLE}")
            conn.exec_driver_sql(f"ALTER TABLE {shadow} RENAME TO {TABLE}")
            for name in ("tsv", "topics", "rank"):
                conn.exec_driver_sql(
                    f"ALTER INDEX ix_search_spaces_{name}_next RENAME TO ix_search_spaces_{name}"
                )
        return count

    def remove(self, ids: list[int]) -> None:
        """Remove these documents; unknown ids are ignored."""
        if ids:
            with self.engine.begin() as conn:
                conn.execute(
                    text("DELETE FROM search_spaces WHERE id = ANY(:ids)"),
                    {"ids": [int(i) for i in ids]},
                )

    def clear(self) -> None:
        """Remove every document."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql("DELETE FROM search_spaces")
            conn.exec_driver_sql("DELETE FROM search_spaces_vocab")

    def search(self, query: SearchQuery) -> SearchResult:
        """Return one page of hits, best first, with facet counts; correct typos if none."""
        terms = query_terms(query.q)
        result = self._search(query, terms)
        if result.total or not terms:
            return result
        with self.engine.connect() as conn:
            better = correct(terms, lambda t: _is_known(conn, t), lambda t: _vocabulary(conn, t))
        if better is None:
            return result
        fixed = self._search(query, better)
        fixed.did_you_mean = " ".join(better)
        return fixed

    def _search(self, query: SearchQuery, terms: list[str]) -> SearchResult:
        params: dict[str, Any] = {"now": time.time()}
        where = _filters(query, params)
        if terms:
            params.update(tsquery_params(terms))
            source = f"search_spaces d, (SELECT {tsquery_sql(len(terms))} AS q) AS query"
            where.insert(0, "d.tsv @@ query.q")
            score = SCORE
        else:
            source, score = "search_spaces d", "d.popularity"
        order = ORDER["browse" if query.sort == "relevance" and not terms else query.sort]
        clause = " AND ".join(where) or "true"
        params.update(limit=query.per_page, offset=query.offset)
        page_sql = (
            f"SELECT d.id, d.title, d.description, {score} AS score"  # noqa: S608
            f" FROM {source} WHERE {clause} ORDER BY {order} LIMIT :limit OFFSET :offset"
        )
        count_sql = f"SELECT count(*) FROM {source} WHERE {clause}"  # noqa: S608
        with self.engine.connect() as conn:
            rows = conn.execute(text(page_sql), params).mappings().all()
            total = conn.execute(text(count_sql), params).scalar_one()
            facets = _facets(conn, source, clause, params) if total else _empty_facets()
        hits = [
            SearchHit(id=row["id"], score=float(row["score"]), snippet=marked_snippet(row, terms))
            for row in rows
        ]
        return SearchResult(total=total, hits=hits, facets=facets)

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return titles, topics and hosts whose words start with what was typed."""
        terms = query_terms(prefix)
        if not terms or limit < 1:
            return []
        sql = (
            "SELECT title, topics, host_name, host_handle FROM search_spaces"
            " WHERE tsv @@ to_tsquery('simple', :tsq)"
            " ORDER BY live DESC, listener_count DESC, id DESC LIMIT :n"
        )
        # Title, host and topics only (weights A, B, C): the suggestions come from them.
        words = tsquery_params(terms, prefix_all=True, weights="ABC").values()
        params = {"tsq": " & ".join(words), "n": limit * 8}
        with self.engine.connect() as conn:
            rows = conn.execute(text(sql), params).mappings().all()
        return pick_suggestions((dict(row) for row in rows), prefix, limit)


def _write(conn: Connection, table: str, docs: list[dict[str, Any]]) -> None:
    latest: dict[int, dict[str, Any]] = {}
    for doc in docs:
        row = flat_document(doc)
        if row["id"] not in latest or row["version"] >= latest[row["id"]]["version"]:
            latest[row["id"]] = row
    rows = list(latest.values())
    names: set[str] = set()
    for row in rows:
        row["topic_text"] = words_only(" ".join(row["topics"]))
        row["host_text"] = words_only(f"{row['host_name']} {row['host_handle']}")
        row["title_text"] = words_only(row["title"])
        row["description_text"] = words_only(row["description"])
        names.update(query_terms(f"{row['title_text']} {row['host_text']} {row['topic_text']}"))
    conn.execute(text(UPSERT.format(table=table)), rows)
    conn.execute(text(VOCAB), {"terms": sorted(names)})


def _is_known(conn: Connection, term: str) -> bool:
    sql = f"SELECT 1 FROM search_spaces WHERE tsv @@ ({tsquery_sql(1)}) LIMIT 1"  # noqa: S608
    return conn.execute(text(sql), tsquery_params([term], prefix_all=False)).first() is not None


def _vocabulary(conn: Connection, term: str) -> list[tuple[str, int]]:
    low, high = letter_range(term)
    sql = "SELECT term, docs FROM search_spaces_vocab WHERE term >= :low AND term < :high LIMIT :n"
    rows = conn.execute(text(sql), {"low": low, "high": high, "n": MAX_CANDIDATES})
    return [(word, n) for word, n in rows]


def _filters(query: SearchQuery, params: dict[str, Any]) -> list[str]:
    return filter_clauses(query, params, "d.topics @> ARRAY[CAST(:topic AS text)]")


def _empty_facets() -> dict[str, dict[str, int]]:
    return {"state": {}, "lang": {}, "topic": {}}


def _facets(
    conn: Connection, source: str, clause: str, params: dict[str, Any]
) -> dict[str, dict[str, int]]:
    facets = _empty_facets()
    for name, column in (("state", "d.state"), ("lang", "d.lang")):
        sql = (
            f"SELECT {column}, count(*) AS n FROM {source} WHERE {clause}"  # noqa: S608
            f" AND {column} <> '' GROUP BY {column} ORDER BY n DESC, {column}"
        )
        facets[name] = {key: n for key, n in conn.execute(text(sql), params)}
    sql = (
        f"SELECT t.topic, count(*) AS n FROM {source}"  # noqa: S608
        f", unnest(d.topics) AS t(topic) WHERE {clause}"
        f" GROUP BY t.topic ORDER BY n DESC, t.topic LIMIT {TOPIC_FACET_SIZE}"
    )
    facets["topic"] = {key: n for key, n in conn.execute(text(sql), params)}
    return facets
