"""Search over the catalog: one interface, several backends."""

from portal.search.base import SearchBackend, SearchHit, SearchQuery, SearchResult

__all__ = ["SearchBackend", "SearchHit", "SearchQuery", "SearchResult"]
