"""Read search parameters from a request, the same way for pages and the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from core.search.base import MAX_PER_PAGE, QueryError, SearchQuery

_TEXT_FILTERS = ("state", "lang", "topic", "host")
_MAX_FILTER_LENGTH = 200


def _integer(args: Mapping[str, str], name: str, default: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, for example {name}={default}") from None


def search_query(args: Mapping[str, str], *, per_page: int = 20) -> SearchQuery:
    """Build a SearchQuery from query-string arguments; raise QueryError saying what to fix."""
    filters: dict[str, str | None] = {}
    for name in _TEXT_FILTERS:
        value = (args.get(name) or "").strip()
        if len(value) > _MAX_FILTER_LENGTH:
            raise QueryError(f"{name} must be at most {_MAX_FILTER_LENGTH} characters")
        filters[name] = value or None
    per_page = _integer(args, "per_page", per_page)
    if per_page > MAX_PER_PAGE:
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    return SearchQuery(
        q=(args.get("q") or "").strip(),
        sort=(args.get("sort") or "relevance").strip(),
        page=_integer(args, "page", 1),
        per_page=per_page,
        **filters,
    )


def query_args(query: SearchQuery, **changes: Any) -> dict[str, Any]:
    """Return the non-default query-string arguments of `query`, with some changed.

    Changing any filter goes back to page 1: the old page number means nothing there.
    """
    values: dict[str, Any] = {
        "q": query.q,
        "state": query.state,
        "lang": query.lang,
        "topic": query.topic,
        "host": query.host,
        "sort": query.sort if query.sort != "relevance" else None,
        "page": query.page if query.page != 1 else None,
    }
    if changes and "page" not in changes:
        values["page"] = None
    values.update(changes)
    return {name: value for name, value in values.items() if value not in (None, "")}
