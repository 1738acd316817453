"""The embedded search backend: SQLite FTS5 tables beside the catalog."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from core.catalog.db import Catalog
from core.search import fts5_query as q
from core.search import fts5_schema as schema
from core.search.base import SearchQuery, SearchResult
from core.search.documents import IndexSync
from core.search.fts5_browse import browse
from core.search.spelling import correct, letter_range
from core.search.text import pick_suggestions, query_terms

log = logging.getLogger(__name__)
T = TypeVar("T")

META = "fts_spaces_meta"
VOCAB = "CREATE VIRTUAL TABLE IF NOT EXISTS fts_spaces_vocab USING fts5vocab(fts_spaces_names, row)"
SWAP_RETRIES = 3
OLD_TABLES = ("fts_spaces", "fts_spaces_names", "fts_spaces_topics", "fts_spaces_docs")


class Fts5Backend:
    """Search spaces with SQLite FTS5 in the catalog's own database."""

    name = "fts5"

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.engine = catalog.engine

    def ensure(self) -> None:
        """Create the search tables if missing; rebuild them from the catalog if older."""
        with self.engine.begin() as conn:
            conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {META} (key TEXT PRIMARY KEY, value)")
            found = conn.execute(text(f"SELECT value FROM {META} WHERE key = 'schema'")).scalar()  # noqa: S608
            if found == schema.SCHEMA_VERSION:
                return
            upgrading = _has_table(conn, "fts_spaces_docs")
            if not upgrading:
                _create(conn)
        if upgrading:
            # The catalog is the truth, so an index of an older layout is rebuilt from it
            # beside the old tables and swapped in: searches keep working meanwhile.
            log.warning("search tables had an older layout; rebuilding them from the catalog")
            count = IndexSync(self.catalog, self).reindex_all()
            with self.engine.begin() as conn:
                _set_version(conn)
            log.warning("search tables rebuilt: %d spaces", count)

    def index(self, docs: list[dict[str, Any]]) -> None:
        """Add or replace these documents in one transaction (newer stored versions win)."""
        if docs:
            with self.engine.begin() as conn:
                _lock(conn)
                schema.write(conn, schema.tables(), docs, stats=True)

    def remove(self, ids: list[int]) -> None:
        """Remove these documents; unknown ids are ignored."""
        if ids:
            with self.engine.begin() as conn:
                _lock(conn)
                schema.remove(conn, schema.tables(), [int(i) for i in ids])

    def clear(self) -> None:
        """Remove every document."""
        with self.engine.begin() as conn:
            for name in schema.tables().values():
                conn.exec_driver_sql(f"DELETE FROM {name}")  # noqa: S608 (fixed names)

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Load shadow tables, then swap them in with one transaction; return the count.

        Readers keep the old tables until the swap commits (WAL gives them a snapshot);
        the swap is a few renames, so writers wait only for that.
        """
        shadow = schema.tables("_next")
        with self.engine.begin() as conn:
            for name in shadow.values():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
            for statement in schema.create_statements(shadow):
                conn.exec_driver_sql(statement)
        count = 0
        for batch in batches:
            with self.engine.begin() as conn:
                schema.write(conn, shadow, batch, stats=False)
            count += len(batch)
        generation = str(int(time.time() * 1000))
        with self.engine.begin() as conn:
            # Indexes after loading: building them once is faster than keeping them up.
            for statement in schema.index_statements(shadow, generation):
                conn.exec_driver_sql(statement)
            schema.recount(conn, shadow)
            # Merge the text indexes' segments into one b-tree each: bulk loading leaves
            # many, and every query would otherwise visit them all.
            for key in ("text", "names"):
                conn.exec_driver_sql(
                    f"INSERT INTO {shadow[key]}({shadow[key]}) VALUES ('optimize')"  # noqa: S608
                )
        with self.engine.begin() as conn:
            _lock(conn)
            conn.exec_driver_sql("DROP TABLE IF EXISTS fts_spaces_vocab")
            for key, name in schema.tables().items():
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
                conn.exec_driver_sql(f"ALTER TABLE {shadow[key]} RENAME TO {name}")
            conn.exec_driver_sql(VOCAB)
        return count

    def search(self, query: SearchQuery) -> SearchResult:
        """Return one page of hits, best first, with facet counts; correct typos if none."""
        return _retrying(lambda: self._search(query))

    def _search(self, query: SearchQuery) -> SearchResult:
        terms = query_terms(query.q)
        with self.engine.connect() as conn:
            if not terms:
                return browse(conn, query)
            result = q.text_search(conn, query, terms)
            if result.total:
                return result
            better = correct(
                terms,
                lambda term: q.is_known(conn, term),
                lambda term: q.vocabulary(conn, *letter_range(term)),
            )
            if better is None:
                return result
            fixed = q.text_search(conn, query, better)
        fixed.did_you_mean = " ".join(better)
        return fixed

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return titles, topics and hosts whose words start with what was typed."""
        terms = query_terms(prefix)
        if not terms or limit < 1:
            return []
        rows = _retrying(lambda: self._suggest_rows(terms, limit * 8))
        return pick_suggestions(rows, prefix, limit)

    def _suggest_rows(self, terms: list[str], limit: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return q.suggest_rows(conn, terms, limit)


def _retrying(read: Callable[[], T]) -> T:
    for attempt in range(SWAP_RETRIES):
        try:
            return read()
        except (OperationalError, sqlite3.OperationalError) as error:
            # A connection that read the schema just before a rebuild's swap finds the
            # tables renamed under it; one more try reads the new schema. Queries run on
            # the driver's own cursor raise the driver's error, not SQLAlchemy's.
            if attempt == SWAP_RETRIES - 1 or not _swap_race(error):
                raise
            time.sleep(0.01)
    raise AssertionError("unreachable")


def _swap_race(error: OperationalError | sqlite3.OperationalError) -> bool:
    message = str(getattr(error, "orig", error))
    return "vtable constructor failed" in message or "no such table" in message


def _lock(conn: Connection) -> None:
    # Write first, so the transaction holds SQLite's write lock before it reads stored
    # versions: a read-then-write transaction fails outright if another writer got in.
    conn.exec_driver_sql(f"UPDATE {META} SET value = value WHERE key = 'schema'")  # noqa: S608


def _create(conn: Connection) -> None:
    conn.exec_driver_sql("DROP TABLE IF EXISTS fts_spaces_vocab")
    for name in (*OLD_TABLES, "fts_spaces_stats"):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {name}")
    live = schema.tables()
    for statement in schema.create_statements(live) + schema.index_statements(live, "0"):
        conn.exec_driver_sql(statement)
    conn.exec_driver_sql(VOCAB)
    _set_version(conn)


def _set_version(conn: Connection) -> None:
    conn.execute(
        text(f"INSERT OR REPLACE INTO {META} VALUES ('schema', :v)"),  # noqa: S608
        {"v": schema.SCHEMA_VERSION},
    )


def _has_table(conn: Connection, name: str) -> bool:
    sql = text("SELECT 1 FROM sqlite_master WHERE name = :n")
    return conn.execute(sql, {"n": name}).first() is not None
