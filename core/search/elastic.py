"""Search with an Elasticsearch cluster: a versioned index behind an alias."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from elasticsearch import ApiError, Elasticsearch, NotFoundError
from elasticsearch.helpers import streaming_bulk

from core.search.base import SearchQuery, SearchResult
from core.search.elastic_mapping import (
    LOADING,
    SCHEMA_VERSION,
    SERVING,
    es_source,
    index_body,
)
from core.search.elastic_query import read_result, search_body, spelling
from core.search.text import pick_suggestions, query_terms

log = logging.getLogger(__name__)

BULK_CHUNK = 500
# Rejections (429) are retried with exponential backoff: 2, 4, 8, ... seconds.
BULK_RETRIES = 5
BULK_BACKOFF_S = 2


class SearchIndexError(RuntimeError):
    """Elasticsearch refused some documents of a bulk request."""


class ElasticBackend:
    """Index and search spaces in Elasticsearch 8/9, always through the alias."""

    name = "elasticsearch"

    def __init__(
        self, client: Elasticsearch, *, index_prefix: str = "spaces", refresh: bool = False
    ) -> None:
        self.client = client
        self.alias = index_prefix
        # Tests and one-shot scripts want writes visible at once; the portal lets the
        # cluster's refresh interval batch them.
        self.refresh = refresh

    @classmethod
    def from_url(
        cls, url: str, *, index_prefix: str = "spaces", **client_kwargs: Any
    ) -> ElasticBackend:
        """Connect to the cluster at `url` (extra keywords go to the client)."""
        return cls(Elasticsearch(url, **client_kwargs), index_prefix=index_prefix)

    def _versioned_name(self, suffix: str = "") -> str:
        return f"{self.alias}-v{SCHEMA_VERSION}{suffix}"

    def _indices(self) -> list[str]:
        try:
            return sorted(self.client.indices.get_alias(name=self.alias).body)
        except NotFoundError:
            return []

    def ensure(self) -> None:
        """Create the current version's index and point the alias at it, unless it exists."""
        current = self._indices()
        if current:
            if not any(name.startswith(self._versioned_name()) for name in current):
                log.warning(
                    "search index %s has an older mapping; run `spaces search reindex`",
                    ", ".join(current),
                )
            return
        name = self._versioned_name()
        try:
            self.client.indices.create(
                index=name, **index_body(), aliases={self.alias: {"is_write_index": True}}
            )
        except ApiError as error:
            # Another process created it first: that is the state we wanted.
            if _error_type(error) != "resource_already_exists_exception":
                raise

    def index(self, docs: list[dict[str, Any]]) -> None:
        """Add or replace these documents; an index holding a newer version keeps it."""
        self._bulk(self._index_actions(docs, self.alias), refresh=self.refresh)

    def remove(self, ids: list[int]) -> None:
        """Remove these documents; unknown ids are ignored."""
        actions = ({"_op_type": "delete", "_index": self.alias, "_id": str(i)} for i in ids)
        self._bulk(actions, refresh=self.refresh)

    @staticmethod
    def _index_actions(docs: Iterable[dict[str, Any]], index: str) -> Iterator[dict[str, Any]]:
        for doc in docs:
            # The catalog's change counter as an external version: a late or replayed
            # write carries an older version and is refused (409) instead of winning.
            yield {
                "_index": index,
                "_id": str(doc["id"]),
                "_version": int(doc.get("version") or 0),
                "_version_type": "external_gte",
                "_source": es_source(doc),
            }

    def _bulk(self, actions: Iterable[dict[str, Any]], **kwargs: Any) -> int:
        """Send actions in chunks, retrying rejected ones; return how many were applied."""
        done, failed = 0, []
        for ok, item in streaming_bulk(
            self.client,
            actions,
            chunk_size=BULK_CHUNK,
            max_retries=BULK_RETRIES,
            initial_backoff=BULK_BACKOFF_S,
            raise_on_error=False,
            **kwargs,
        ):
            (action, result), *_ = item.items()
            status = result.get("status", 500)
            # A stale version (409) and deleting what is gone (404) are the outcomes wanted.
            if ok or status == 409 or (action == "delete" and status == 404):
                done += 1
            else:
                failed.append(f"{result.get('_id')}: {result.get('error')}")
        if failed:
            raise SearchIndexError(f"{len(failed)} documents were refused; first: {failed[0]}")
        return done

    def rebuild(self, batches: Iterable[list[dict[str, Any]]]) -> int:
        """Load a new index, then move the alias to it atomically; return the count.

        Searches read the old index through the alias until the swap; the old index is
        dropped only after it.
        """
        name = self._versioned_name(f"-{datetime.now(UTC).strftime('%Y%m%d%H%M%S%f')}")
        body = index_body()
        self.client.indices.create(
            index=name, mappings=body["mappings"], settings={**body["settings"], **LOADING}
        )
        try:
            actions = (a for batch in batches for a in self._index_actions(batch, name))
            count = self._bulk(actions)
            self.client.indices.put_settings(index=name, settings=self._serving())
            self.client.indices.refresh(index=name)
        except Exception:
            self.client.indices.delete(index=name, ignore_unavailable=True)
            raise
        self._swap(name)
        return count

    def _serving(self) -> dict[str, Any]:
        # One replica only where there is a second node to hold it (a lone node would
        # otherwise report the index yellow forever).
        try:
            nodes = len(self.client.nodes.info().body.get("nodes", {}))
        except ApiError:
            nodes = 1
        return {**SERVING, "number_of_replicas": min(SERVING["number_of_replicas"], nodes - 1)}

    def _swap(self, name: str) -> None:
        old = self._indices()
        actions: list[dict[str, Any]] = [
            {"remove": {"index": index, "alias": self.alias}} for index in old
        ]
        actions.append({"add": {"index": name, "alias": self.alias, "is_write_index": True}})
        # One request: every search sees either the old index or the new one, never none.
        self.client.indices.update_aliases(actions=actions)
        for index in old:
            self.client.indices.delete(index=index, ignore_unavailable=True)

    def clear(self) -> None:
        """Start a fresh, empty index of the current version and move the alias to it.

        A new index (not delete-by-query) is both faster and how a mapping change is
        rolled out: the alias swap is atomic, and the old index is dropped afterwards.
        """
        stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S%f")
        name = self._versioned_name(f"-{stamp}")
        self.client.indices.create(index=name, **index_body())
        self._swap(name)

    def search(self, query: SearchQuery) -> SearchResult:
        """Return one page of hits, best first, with facet counts over all matches."""
        body, has_text = search_body(query)
        answer = self.client.search(index=self.alias, **body).body
        result = read_result(answer)
        if result.total or not has_text:
            return result
        # Nothing as typed: ask for a correction, and accept words within a typo or two.
        terms = query_terms(query.q)
        fuzzy, _ = search_body(query, fuzzy=True)
        answer = self.client.search(
            index=self.alias, **fuzzy, suggest={"fix": spelling(terms)}
        ).body
        result = read_result(answer)
        options = (answer.get("suggest", {}).get("fix") or [{}])[0].get("options") or []
        if options and options[0]["text"] != " ".join(terms):
            result.did_you_mean = options[0]["text"]
        return result

    def suggest(self, prefix: str, limit: int = 8) -> list[str]:
        """Return titles, topics and hosts that start with what was typed."""
        terms = query_terms(prefix)
        if not terms or limit < 1:
            return []
        completion = {
            "prefix": " ".join(terms),
            "completion": {"field": "suggest", "size": limit * 4, "skip_duplicates": True},
        }
        answer = self.client.search(
            index=self.alias,
            suggest={"names": completion},
            source={"includes": ["title", "topics", "host_name", "host_handle"]},
            size=0,
        )
        options = answer.body["suggest"]["names"][0]["options"]
        return pick_suggestions((option["_source"] for option in options), prefix, limit)


def _error_type(error: ApiError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    detail = body.get("error")
    return str(detail.get("type", "")) if isinstance(detail, dict) else ""
