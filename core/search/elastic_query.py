"""Build Elasticsearch request bodies from a SearchQuery, and read their answers."""

from __future__ import annotations

from typing import Any

from core.search.base import SearchHit, SearchQuery, SearchResult
from core.search.text import (
    MARK_END,
    MARK_START,
    filter_value,
    marked_to_html,
    plain_snippet,
    query_terms,
)

TOPIC_FACET_SIZE = 20
LANG_FACET_SIZE = 100

# Weights mirror the SQL backends: title > host > topics > description.
FIELDS = [
    "title^10",
    "title.std^8",
    "title.prefix^2",
    "host_name^5",
    "host_name.std^4",
    "host_handle^5",
    "topics.text^3",
    "topics^3",
    "description",
    "description.std^0.8",
]

_ID = {"id": {"order": "desc"}}
_ACTIVITY = {"activity": {"order": "desc", "missing": "_last"}}
SORTS: dict[str, list[Any]] = {
    "relevance": [{"live": {"order": "desc"}}, "_score", _ID],
    "browse": [
        {"live": {"order": "desc"}},
        {"listener_count": {"order": "desc"}},
        _ACTIVITY,
        _ID,
    ],
    "listeners": [{"listener_count": {"order": "desc"}}, _ACTIVITY, _ID],
    "recent": [_ACTIVITY, _ID],
    "starting": [{"starting": {"order": "asc", "missing": "_last"}}, _ACTIVITY, _ID],
}


def text_query(terms: list[str]) -> dict[str, Any]:
    """Return a simple_query_string of sanitised terms, all required, the last as a prefix.

    The terms are letters and digits only, so the only syntax in the string is what is
    written here: the last word matches as typed (analysed, so stemmed) or as a prefix
    (prefixes are not analysed, so "podcasts*" alone would miss "podcast").
    """
    words = list(terms)
    last = words[-1]
    if len(last) >= 2:
        words[-1] = f"({last} | {last}*)"
    return {
        "simple_query_string": {
            "query": " ".join(words),
            "fields": FIELDS,
            "default_operator": "and",
            "flags": "OR|PREFIX|PRECEDENCE|WHITESPACE",
            "lenient": True,
        }
    }


def ranked(query: dict[str, Any]) -> dict[str, Any]:
    """Wrap a text query in the ranking: recency, log of the audience, featured boost.

    The inner function_score multiplies text relevance by (1 + a recency decay); the outer
    one by the audience term and the featured boost. Live spaces come first by the sort.
    """
    recent = {
        "function_score": {
            "query": query,
            "functions": [
                {"exp": {"activity": {"origin": "now", "scale": "1d", "decay": 0.5}}},
                {"weight": 1},
            ],
            "score_mode": "sum",
            "boost_mode": "multiply",
        }
    }
    return {
        "function_score": {
            "query": recent,
            "functions": [{"field_value_factor": {"field": "audience_boost", "missing": 1}}],
            "score_mode": "multiply",
            "boost_mode": "multiply",
        }
    }


def filters(query: SearchQuery) -> list[dict[str, Any]]:
    """Return term filters for the query's state, lang, host and topic."""
    out = []
    for field, value in (
        ("state", query.state),
        ("lang", query.lang),
        ("host_handle", query.host),
        ("topics", query.topic),
    ):
        if value:
            out.append({"term": {field: filter_value(value)}})
    return out


def fuzzy_query(terms: list[str]) -> dict[str, Any]:
    """Return a typo-tolerant query: every word within AUTO edits of an indexed word."""
    return {
        "multi_match": {
            "query": " ".join(terms),
            "fields": [f for f in FIELDS if ".prefix" not in f],
            "operator": "and",
            "fuzziness": "AUTO",
            "prefix_length": 1,
            "lenient": True,
        }
    }


def spelling(terms: list[str]) -> dict[str, Any]:
    """Return a phrase suggester that corrects the words against titles and descriptions."""
    generator = {"field": "title.std", "suggest_mode": "always", "prefix_length": 1}
    return {
        "text": " ".join(terms),
        "phrase": {
            "field": "title.std",
            "size": 1,
            "max_errors": 2,
            "direct_generator": [generator, {**generator, "field": "description.std"}],
        },
    }


def search_body(query: SearchQuery, *, fuzzy: bool = False) -> tuple[dict[str, Any], bool]:
    """Return (request body, whether it has a text query) for one page of results."""
    terms = query_terms(query.q)
    text = (fuzzy_query(terms) if fuzzy else text_query(terms)) if terms else None
    must = [ranked(text)] if text else [{"match_all": {}}]
    body: dict[str, Any] = {
        "query": {"bool": {"must": must, "filter": filters(query)}},
        "from": query.offset,
        "size": query.per_page,
        "sort": SORTS["browse" if query.sort == "relevance" and not terms else query.sort],
        "track_total_hits": True,
        "track_scores": True,
        "_source": ["title", "description"],
        "aggs": {
            "state": {"terms": {"field": "state", "size": 10}},
            "lang": {"terms": {"field": "lang", "size": LANG_FACET_SIZE}},
            "topic": {"terms": {"field": "topics", "size": TOPIC_FACET_SIZE}},
        },
    }
    if terms:
        tags = {"pre_tags": [MARK_START], "post_tags": [MARK_END]}
        body["highlight"] = {
            **tags,
            "fields": {
                "description": {"fragment_size": 160, "number_of_fragments": 1},
                "description.std": {"fragment_size": 160, "number_of_fragments": 1},
                "title": {"number_of_fragments": 0},
                "title.std": {"number_of_fragments": 0},
            },
        }
    return body, bool(terms)


def _snippet(hit: dict[str, Any]) -> str:
    marks = hit.get("highlight") or {}
    for field in ("description", "description.std", "title", "title.std"):
        fragments = marks.get(field)
        if fragments:
            return marked_to_html(fragments[0])
    source = hit.get("_source") or {}
    return plain_snippet(source.get("description") or source.get("title") or "")


def read_result(answer: dict[str, Any]) -> SearchResult:
    """Turn a search answer into a SearchResult (hits, total, facets)."""
    hits = [
        SearchHit(id=int(hit["_id"]), score=float(hit.get("_score") or 0.0), snippet=_snippet(hit))
        for hit in answer["hits"]["hits"]
    ]
    total = answer["hits"]["total"]
    aggs = answer.get("aggregations") or {}
    facets = {
        name: {b["key"]: b["doc_count"] for b in aggs.get(name, {}).get("buckets", [])}
        for name in ("state", "lang", "topic")
    }
    return SearchResult(total=int(total["value"]), hits=hits, facets=facets)
