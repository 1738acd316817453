"""Read request parameters the same way for pages and the API: searches and ids."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.routing import IntegerConverter, Map

from core.search.base import (
    FILTER_LENGTHS,
    MAX_PER_PAGE,
    MAX_Q_LENGTH,
    SORTS,
    STATES,
    QueryError,
    SearchQuery,
)
from core.search.text import has_search_terms

#: The largest id any catalog table can hold (a 32-bit integer column on PostgreSQL).
MAX_ID = 2**31 - 1
WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")

NOTHING_TO_SEARCH = "it has no letters or digits to look for. Try words, such as a topic"


class NothingToSearch(QueryError):
    """The words typed hold no letter or digit, so there is nothing to look for."""


def parse_id(text: str) -> int | None:
    """Return `text` as a catalog id; None unless it is a whole number a row can have."""
    if not WHOLE_NUMBER.fullmatch(text) or len(text) > 12:
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


class IdConverter(IntegerConverter):
    """Match `<int:...>` path parts that can be catalog ids: 1 to MAX_ID, ASCII digits.

    Any other number (such as 99999999999999999999999) matches no route, so it is a 404
    like any id that names nothing, never a database overflow.
    """

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Map, min: int = 1, max: int = MAX_ID) -> None:  # noqa: A002
        super().__init__(map, min=min, max=max)


def _integer(args: Mapping[str, str], name: str, default: int, *, strict: bool) -> int:
    raw = args.get(name)
    if raw is None or (not strict and not raw.strip()):
        return default
    text = raw.strip()
    if not WHOLE_NUMBER.fullmatch(text):
        raise QueryError(f"{name} must be a whole number, for example {name}={default}")
    # Past a dozen digits the number is out of any range; say so without converting it.
    return int(text) if len(text) <= 12 else (-1 if text.startswith("-") else 10**12)


def _choice(args: Mapping[str, str], name: str, choices: tuple[str, ...], *, strict: bool) -> str:
    """Return the value of an enumerated parameter; "" when absent (or empty, leniently)."""
    raw = args.get(name)
    if raw is None:
        return ""
    value = raw.strip()
    if value in choices or (not value and not strict):
        return value
    shown = f"{value[:40]!r}" if value else "empty"
    raise QueryError(f"{name} must be one of {', '.join(choices)} (it was {shown})")


def search_query(
    args: Mapping[str, str], *, per_page: int = 20, strict: bool = False
) -> SearchQuery:
    """Build a SearchQuery from query-string arguments; raise QueryError saying what to fix.

    `strict` (the API) refuses what the OpenAPI document forbids, such as an empty
    `sort=`; pages take an empty choice as no choice, as their forms send it. Words with
    no letter or digit raise NothingToSearch last, once everything else is known good.
    """
    filters: dict[str, str | None] = {}
    for name in ("lang", "topic", "host"):
        value = (args.get(name) or "").strip()
        if len(value) > FILTER_LENGTHS[name]:
            raise QueryError(f"{name} must be at most {FILTER_LENGTHS[name]} characters")
        filters[name] = value or None
    state = _choice(args, "state", STATES, strict=strict) or None
    sort = _choice(args, "sort", SORTS, strict=strict) or "relevance"
    per_page = _integer(args, "per_page", per_page, strict=strict)
    if not 0 < per_page <= MAX_PER_PAGE:
        raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
    q = (args.get("q") or "").strip()
    if len(q) > MAX_Q_LENGTH:
        raise QueryError(f"q must be at most {MAX_Q_LENGTH} characters")
    query = SearchQuery(
        q=q,
        state=state,
        sort=sort,
        page=_integer(args, "page", 1, strict=strict),
        per_page=per_page,
        **filters,
    )
    if q and not has_search_terms(q):
        raise NothingToSearch(NOTHING_TO_SEARCH)
    return query


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
