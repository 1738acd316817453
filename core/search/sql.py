"""SQL the two SQL backends share: sort orders and filter clauses over their docs table.

Both FTS5 and PostgreSQL keep one row per space in a table aliased `d`, with the same
columns; only how topics are stored differs, so each backend passes its topic clause.
"""

from __future__ import annotations

from typing import Any

from core.search.base import SearchQuery
from core.search.text import filter_value

TOPIC_FACET_SIZE = 20

ORDER = {
    "listeners": "d.listener_count DESC, d.activity DESC NULLS LAST, d.id DESC",
    "recent": "d.activity DESC NULLS LAST, d.id DESC",
    "starting": "CASE WHEN d.state = 'scheduled' THEN d.scheduled_start END ASC NULLS LAST,"
    " d.activity DESC NULLS LAST, d.id DESC",
    "browse": "d.live DESC, d.listener_count DESC, d.activity DESC NULLS LAST, d.id DESC",
    "relevance": "d.live DESC, score DESC, d.id DESC",
}


def filter_clauses(query: SearchQuery, params: dict[str, Any], topic_clause: str) -> list[str]:
    """Return the WHERE conditions of the query's filters; put their values in `params`.

    `topic_clause` tests the bound `:topic` against the backend's own topic storage.
    """
    where = []
    if query.state:
        where.append("d.state = :state")
        params["state"] = query.state
    if query.lang:
        where.append("d.lang = :lang")
        params["lang"] = filter_value(query.lang)
    if query.host:
        where.append("d.host_handle = :host")
        params["host"] = filter_value(query.host)
    if query.topic:
        where.append(topic_clause)
        params["topic"] = filter_value(query.topic)
    return where
