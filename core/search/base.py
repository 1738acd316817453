"""The search interface every backend implements."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.catalog.records import TOPIC_MAX

SORTS = ("relevance", "listeners", "recent", "starting")
STATES = ("live", "scheduled", "ended")
FACETS = ("state", "lang", "topic")
MAX_PER_PAGE = 100
MAX_Q_LENGTH = 500
#: Longest filter values a query may carry; the catalog stores no longer ones (the API
#: document states them, and `spaces up` sizes its request-line limit to fit them).
FILTER_LENGTHS = {"lang": 12, "topic": TOPIC_MAX, "host": 120}


class QueryError(ValueError):
    """A search request that cannot be answered as asked (bad sort, page out of range)."""


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    state: str | None = None
    lang: str | None = None
    topic: str | None = None
    host: str | None = None  # a host handle
    sort: str = "relevance"
    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise QueryError(f"sort must be one of {', '.join(SORTS)}")
        if self.state is not None and self.state not in STATES:
            raise QueryError(f"state must be one of {', '.join(STATES)}")
        if self.page < 1 or self.page > 1000:
            raise QueryError("page must be between 1 and 1000")
        if self.per_page < 1 or self.per_page > MAX_PER_PAGE:
            raise QueryError(f"per_page must be between 1 and {MAX_PER_PAGE}")
        if len(self.q) > MAX_Q_LENGTH:
            raise QueryError(f"q must be at most {MAX_Q_LENGTH} characters")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass
class SearchHit:
    id: int
    score: float = 0.0
    snippet: str = ""  # HTML-escaped text with <mark> around matches


@dataclass
class SearchResult:
    """One page of hits with the total and facet counts.

    `did_you_mean` is a corrected query when the words as typed matched nothing; the hits
    are then those of the correction (typo tolerance). `approximate` says the total and
    facets were estimated from the best candidates of a very broad match (show "≈").
    """

    total: int
    hits: list[SearchHit]
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    did_you_mean: str | None = None
    approximate: bool = False


class SearchBackend(Protocol):
    """Index and search space documents (see documents.space_document)."""

    name: str

    def ensure(self) -> None:
        """Create whatever the backend needs (tables, index, alias); safe to repeat."""

    def index(self, docs: list[dict[str, Any]]) -> None:
        """Add or replace these documents, unless the index holds a newer `version` of one."""

    def remove(self, ids: list[int]) -> None:
        """Remove the documents with these ids; unknown ids are ignored."""

    def search(self, query: SearchQuery) -> SearchResult:
        """Return one page of matching ids, best first, with facet counts."""

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return titles, hosts or topics starting with `prefix`, for typeahead."""

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Build a fresh index from these batches, then swap it in at once; return the count.

        Searches keep answering from the old index until the swap.
        """

    def clear(self) -> None:
        """Remove every document (tests)."""
