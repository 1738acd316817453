"""The FTS5 backend's tables, and how documents are written into them."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import bindparam, text
from sqlalchemy.engine import Connection

from core.search.text import flat_document

# Bump when the tables change: ensure() then rebuilds them from the catalog.
SCHEMA_VERSION = 3

# Topics are stored joined by the unit separator, which strip_controls() removes from any
# topic: splitting a string is what counting facets over hundreds of candidates needs,
# and decoding JSON per candidate was most of a broad search's time.
TOPIC_SEP = "\x1f"

NAMES = ("docs", "topics", "text", "names", "stats")
LIVE = {
    "docs": "fts_spaces_docs",
    "topics": "fts_spaces_topics",
    "text": "fts_spaces",
    "names": "fts_spaces_names",
    "stats": "fts_spaces_stats",
}


def tables(suffix: str = "") -> dict[str, str]:
    """Return the table names of the live index ("") or of one being rebuilt ("_next")."""
    return {key: name + suffix for key, name in LIVE.items()}


def create_statements(t: dict[str, str]) -> list[str]:
    """Return the CREATE statements of one set of tables (indexes come separately)."""
    return [
        f"""CREATE TABLE {t["docs"]} (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            host_name TEXT NOT NULL DEFAULT '',
            host_handle TEXT NOT NULL DEFAULT '',
            topics TEXT NOT NULL DEFAULT '',
            lang TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL DEFAULT '',
            live INTEGER NOT NULL DEFAULT 0,
            listener_count INTEGER NOT NULL DEFAULT 0,
            boost REAL NOT NULL DEFAULT 1,
            activity REAL,
            scheduled_start REAL,
            version INTEGER NOT NULL DEFAULT 0
        )""",
        f"""CREATE TABLE {t["topics"]} (
            topic TEXT NOT NULL, doc_id INTEGER NOT NULL, PRIMARY KEY (topic, doc_id)
        ) WITHOUT ROWID""",
        # `tags` holds one token per filter value, so filters join the MATCH itself and
        # FTS5 intersects posting lists instead of SQLite joining rows.
        f"CREATE VIRTUAL TABLE {t['text']} USING fts5("
        "title, host, topics, description, tags, "
        "tokenize = 'porter unicode61 remove_diacritics 2', prefix = '2 3')",
        f"CREATE VIRTUAL TABLE {t['names']} USING fts5("
        "names, tokenize = 'unicode61 remove_diacritics 2', prefix = '1 2 3')",
        # Facet counts of every (state, lang) and (state, lang, topic), kept in step by
        # each write, so browsing without words never counts rows.
        f"""CREATE TABLE {t["stats"]} (
            state TEXT NOT NULL, lang TEXT NOT NULL, topic TEXT NOT NULL,
            n INTEGER NOT NULL, PRIMARY KEY (state, lang, topic)
        ) WITHOUT ROWID""",
    ]


def index_statements(t: dict[str, str], tag: str) -> list[str]:
    """Return the secondary indexes, named with `tag` so a rebuilt set never collides."""
    docs = t["docs"]
    return [
        f"CREATE INDEX ix_fts_rank_{tag} ON {docs} (live DESC, listener_count DESC, activity DESC)",
        f"CREATE INDEX ix_fts_recent_{tag} ON {docs} (activity DESC)",
        f"CREATE INDEX ix_fts_starting_{tag} ON {docs} (state, scheduled_start)",
        f"CREATE INDEX ix_fts_host_{tag} ON {docs} (host_handle)",
        f"CREATE INDEX ix_fts_topics_doc_{tag} ON {t['topics']} (doc_id)",
    ]


def join_topics(topics: list[str]) -> str:
    """Return topics as the docs table stores them."""
    return TOPIC_SEP.join(topics)


def split_topics(stored: str) -> list[str]:
    """Return the topics of a stored docs row."""
    return stored.split(TOPIC_SEP) if stored else []


def tag(kind: str, value: str) -> str:
    """Return the token standing for one filter value in the `tags` column.

    Hex keeps any value (spaces, accents, punctuation) one token; the trailing digit
    keeps the stemmer from trimming it, so index and query tokens are always equal.
    """
    return f"z{kind}{value.encode().hex()}9"


def _tags(row: dict[str, Any], topics: list[str]) -> str:
    parts = [tag("s", row["state"]), tag("l", row["lang"]), tag("h", row["host_handle"])]
    return " ".join(parts + [tag("t", topic) for topic in topics])


def _prepare(
    doc: dict[str, Any],
) -> tuple[dict[str, Any], list[str], dict[str, Any], dict[str, Any]]:
    row = flat_document(doc)
    topics = row["topics"]
    row["topics"] = join_topics(topics)
    row["live"] = int(row["live"])
    body = {
        "id": row["id"],
        "title": row["title"],
        "host": f"{row['host_name']} {row['host_handle']}",
        "topics": " ".join(topics),
        "description": row["description"],
        "tags": _tags(row, topics),
    }
    names = " ".join([row["title"], row["host_name"], row["host_handle"], *topics])
    return row, topics, body, {"id": row["id"], "names": names}


def write(conn: Connection, t: dict[str, str], docs: list[dict[str, Any]], stats: bool) -> None:
    """Add or replace documents in one set of tables; a newer stored version wins."""
    latest: dict[int, dict[str, Any]] = {}
    for doc in docs:
        key = int(doc["id"])
        if key not in latest or int(doc.get("version") or 0) >= int(
            latest[key].get("version") or 0
        ):
            latest[key] = doc
    prepared = [_prepare(doc) for doc in latest.values()]
    stored = _stored(conn, t, list(latest))
    # Late or replayed writes (an older version than the index holds) are dropped here.
    fresh = [
        p for p in prepared if p[0]["id"] not in stored or stored[p[0]["id"]][0] <= p[0]["version"]
    ]
    if not fresh:
        return
    delta: Counter[tuple[str, str, str]] = Counter()
    ids = [p[0]["id"] for p in fresh]
    for doc_id in ids:
        if doc_id in stored:
            _, state, lang, topics = stored[doc_id]
            for topic in ["", *split_topics(topics)]:
                delta[(state, lang, topic)] -= 1
    delete(conn, t, [i for i in ids if i in stored])
    rows = [p[0] for p in fresh]
    for row, topics, _, _ in fresh:
        for topic in ["", *topics]:
            delta[(row["state"], row["lang"], topic)] += 1
    conn.execute(
        text(
            f"INSERT INTO {t['docs']} (id, title, description, host_name, host_handle, topics,"  # noqa: S608
            " lang, state, live, listener_count, boost, activity, scheduled_start, version)"
            " VALUES (:id, :title, :description, :host_name, :host_handle, :topics, :lang,"
            " :state, :live, :listener_count, :boost, :activity, :scheduled_start, :version)"
        ),
        rows,
    )
    topic_rows = [
        {"topic": topic, "doc_id": row["id"]} for row, topics, _, _ in fresh for topic in topics
    ]
    if topic_rows:
        conn.execute(
            text(f"INSERT OR IGNORE INTO {t['topics']} VALUES (:topic, :doc_id)"),  # noqa: S608
            topic_rows,
        )
    conn.execute(
        text(
            f"INSERT INTO {t['text']} (rowid, title, host, topics, description, tags)"  # noqa: S608
            " VALUES (:id, :title, :host, :topics, :description, :tags)"
        ),
        [p[2] for p in fresh],
    )
    conn.execute(
        text(f"INSERT INTO {t['names']} (rowid, names) VALUES (:id, :names)"),  # noqa: S608
        [p[3] for p in fresh],
    )
    if stats:
        apply_stats(conn, t, delta)


def _stored(conn: Connection, t: dict[str, str], ids: list[int]) -> dict[int, tuple[Any, ...]]:
    sql = text(
        f"SELECT id, version, state, lang, topics FROM {t['docs']} WHERE id IN :ids"  # noqa: S608
    ).bindparams(bindparam("ids", expanding=True))
    return {row[0]: tuple(row[1:]) for row in conn.execute(sql, {"ids": ids})}


def delete(conn: Connection, t: dict[str, str], ids: list[int]) -> None:
    """Delete these documents from every table but the counts."""
    if not ids:
        return
    params = [{"id": i} for i in ids]
    conn.execute(text(f"DELETE FROM {t['text']} WHERE rowid = :id"), params)  # noqa: S608
    conn.execute(text(f"DELETE FROM {t['names']} WHERE rowid = :id"), params)  # noqa: S608
    conn.execute(text(f"DELETE FROM {t['topics']} WHERE doc_id = :id"), params)  # noqa: S608
    conn.execute(text(f"DELETE FROM {t['docs']} WHERE id = :id"), params)  # noqa: S608


def remove(conn: Connection, t: dict[str, str], ids: list[int]) -> None:
    """Delete these documents and take them out of the facet counts."""
    stored = _stored(conn, t, ids)
    delta: Counter[tuple[str, str, str]] = Counter()
    for _, state, lang, topics in stored.values():
        for topic in ["", *split_topics(topics)]:
            delta[(state, lang, topic)] -= 1
    delete(conn, t, list(stored))
    apply_stats(conn, t, delta)


def apply_stats(conn: Connection, t: dict[str, str], delta: Counter[tuple[str, str, str]]) -> None:
    """Add these changes to the facet counts, dropping counts that reach zero."""
    changes = [
        {"s": s, "l": lang, "t": topic, "n": n} for (s, lang, topic), n in delta.items() if n
    ]
    if not changes:
        return
    conn.execute(
        text(
            f"INSERT INTO {t['stats']} (state, lang, topic, n) VALUES (:s, :l, :t, :n)"  # noqa: S608
            " ON CONFLICT (state, lang, topic) DO UPDATE SET n = n + excluded.n"
        ),
        changes,
    )
    conn.execute(text(f"DELETE FROM {t['stats']} WHERE n <= 0"))  # noqa: S608


def recount(conn: Connection, t: dict[str, str]) -> None:
    """Recompute the facet counts from the documents (after a bulk load)."""
    conn.exec_driver_sql(f"DELETE FROM {t['stats']}")  # noqa: S608
    conn.exec_driver_sql(
        f"INSERT INTO {t['stats']} SELECT state, lang, '', count(*) FROM {t['docs']}"  # noqa: S608
        " GROUP BY state, lang"
    )
    conn.exec_driver_sql(
        f"INSERT INTO {t['stats']} SELECT d.state, d.lang, tt.topic, count(*)"  # noqa: S608
        f" FROM {t['topics']} tt JOIN {t['docs']} d ON d.id = tt.doc_id"
        " GROUP BY d.state, d.lang, tt.topic"
    )
