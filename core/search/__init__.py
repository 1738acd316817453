"""Search over the catalog: one interface, several backends."""

from core.search.base import SearchBackend, SearchHit, SearchQuery, SearchResult

__all__ = ["SearchBackend", "SearchHit", "SearchQuery", "SearchResult"]
