"""The Elasticsearch index: settings, explicit mapping, and the source of each document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.search.text import flat_document
from core.timeutil import isoformat

# Bump when the mapping changes: `spaces search reindex` then builds an index of the new
# version and moves the alias to it.
SCHEMA_VERSION = 2

# Deep pages are allowed up to the interface's own limit (page 1000 x 100 per page).
MAX_RESULT_WINDOW = 100_000

# Completion weights must be integers; live spaces come first, then bigger audiences.
LIVE_WEIGHT = 1_000_000


def _text(prefix: bool = False) -> dict[str, Any]:
    # English stemming for recall; `std` is the language-neutral fallback (words as written,
    # accents folded) for other languages and for prefixes of words the stemmer cut short;
    # `prefix` holds edge n-grams of names so typeahead matches inside a title.
    fields: dict[str, Any] = {"std": {"type": "text", "analyzer": "folded"}}
    if prefix:
        fields["prefix"] = {"type": "text", "analyzer": "edge", "search_analyzer": "folded"}
    return {"type": "text", "analyzer": "english", "fields": fields}


ANALYSIS: dict[str, Any] = {
    "filter": {"edge_2_20": {"type": "edge_ngram", "min_gram": 2, "max_gram": 20}},
    "analyzer": {
        "folded": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding"],
        },
        "edge": {
            "type": "custom",
            "tokenizer": "standard",
            "filter": ["lowercase", "asciifolding", "edge_2_20"],
        },
    },
}

SETTINGS: dict[str, Any] = {
    "number_of_shards": 1,
    "max_result_window": MAX_RESULT_WINDOW,
    "analysis": ANALYSIS,
}

# While a new index is loaded: no refreshes and no replicas (both restored before the
# alias moves), so bulk loading does not pay for searchability it does not need yet.
LOADING: dict[str, Any] = {"refresh_interval": "-1", "number_of_replicas": 0}
SERVING: dict[str, Any] = {"refresh_interval": "1s", "number_of_replicas": 1}

MAPPINGS: dict[str, Any] = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "long"},
        "title": _text(prefix=True),
        "description": _text(),
        "host_name": _text(prefix=True),
        "host_handle": {"type": "keyword"},
        "topics": {"type": "keyword", "fields": {"text": {"type": "text", "analyzer": "english"}}},
        "lang": {"type": "keyword"},
        "state": {"type": "keyword"},
        "live": {"type": "boolean"},
        "featured": {"type": "boolean"},
        "listener_count": {"type": "integer"},
        "audience_boost": {"type": "float"},
        "version": {"type": "long"},
        "activity": {"type": "date"},
        "scheduled_start": {"type": "date"},
        "starting": {"type": "date"},
        "suggest": {"type": "completion", "analyzer": "standard"},
    },
}


def index_body() -> dict[str, Any]:
    """Return the settings and mappings of a new index."""
    return {"settings": SETTINGS, "mappings": MAPPINGS}


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return isoformat(datetime.fromtimestamp(seconds, UTC))


def suggest_inputs(row: dict[str, Any]) -> list[str]:
    """Return what typeahead matches from the start: the title and each later part of it,
    the host's name and handle, and every topic."""
    inputs: list[str] = []
    words = row["title"].split()
    # Completion suggesters match only from an input's start; the title's tails let a
    # prefix of any of its words find it. Few words per title, so the list stays short.
    inputs.extend(" ".join(words[i:]) for i in range(min(len(words), 12)))
    inputs.extend([row["host_name"], row["host_handle"], *row["topics"]])
    return [text[:200] for text in dict.fromkeys(inputs) if text.strip()]


def es_source(doc: dict[str, Any]) -> dict[str, Any]:
    """Return the indexed source of a space document."""
    row = flat_document(doc)
    weight = min(row["listener_count"], LIVE_WEIGHT - 1) + (LIVE_WEIGHT if row["live"] else 0)
    return {
        "id": row["id"],
        "title": row["title"],
        "description": row["description"],
        "host_name": row["host_name"],
        "host_handle": row["host_handle"] or None,
        "topics": row["topics"],
        "lang": row["lang"] or None,
        "state": row["state"] or None,
        "live": row["live"],
        "featured": row["featured"],
        "listener_count": row["listener_count"],
        # The SQL backends' boost: audience, recent shares, featured.
        "audience_boost": row["boost"],
        "version": row["version"],
        "activity": _iso(row["activity"]),
        "scheduled_start": _iso(row["scheduled_start"]),
        # Only scheduled spaces sort by their start; the rest fall after them.
        "starting": _iso(row["scheduled_start"]) if row["state"] == "scheduled" else None,
        "suggest": {"input": suggest_inputs(row), "weight": weight},
    }
