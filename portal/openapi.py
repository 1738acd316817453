"""The OpenAPI 3.1 description of the portal's JSON API, written by hand."""

from __future__ import annotations

from typing import Any

from core.catalog.source_health import REASON_WORDS
from core.search.base import FILTER_LENGTHS, MAX_PER_PAGE, MAX_Q_LENGTH, SORTS, STATES
from portal.present import SPACE_FIELDS

_TIME = {"type": ["string", "null"], "format": "date-time", "examples": ["2026-11-23T20:15:00Z"]}
_STRING = {"type": "string"}
# The body of the two requests that hand in a link: a submission and a ping.
_URL_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["url"],
                "properties": {"url": {"type": "string", "format": "uri", "maxLength": 2000}},
            }
        }
    },
}

SPACE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(SPACE_FIELDS),
    "properties": {
        "id": {"type": "integer", "description": "The portal's id of the space."},
        "url": {"type": "string", "format": "uri", "description": "The space's own page."},
        "title": _STRING,
        "description": _STRING,
        "host": {"$ref": "#/components/schemas/Host"},
        "state": {
            "type": "string",
            "enum": ["unknown", "scheduled", "live", "ended", "gone"],
            "description": "The last known state; see last_checked_at for how fresh it is.",
        },
        "listener_count": {"type": "integer", "minimum": 0},
        "speaker_count": {"type": "integer", "minimum": 0},
        "started_at": _TIME,
        "scheduled_start": _TIME,
        "ended_at": _TIME,
        "topics": {"type": "array", "items": _STRING},
        "lang": {"type": "string", "description": "Language code, empty when unknown."},
        "source": {"type": "string", "description": "The page the space was found on."},
        "shares": {"type": "integer", "minimum": 0, "description": "Pages that shared it."},
        "last_checked_at": {
            **_TIME,
            "description": (
                "When a liveness check last reached the space's source and got an answer "
                "(UTC). A check that did not (refused, timed out, a server error) leaves it "
                "as it was: `health` says how the latest checks went."
            ),
        },
        "player_url": {
            "type": "string",
            "description": "Embeddable player on a room server; empty when there is none.",
        },
        "featured": {"type": "boolean"},
        "health": {"$ref": "#/components/schemas/Health"},
    },
}

HEALTH_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["last_ok_at", "last_status", "failures", "reason", "last_checked_at", "reachable"],
    "description": "How the space's liveness checks have gone lately.",
    "properties": {
        "last_ok_at": {**_TIME, "description": "The last check that got a usable answer (UTC)."},
        "last_status": {
            "type": "integer",
            "minimum": 0,
            "description": "HTTP status of the last check; 0 when it got none.",
        },
        "failures": {"type": "integer", "minimum": 0, "description": "Failed checks in a row."},
        "reason": {
            "type": "string",
            "description": (
                "Why the last check failed (or found the space gone), empty when it went "
                f"well: {', '.join(REASON_WORDS)}."
            ),
        },
        "last_checked_at": {
            **_TIME,
            "description": "When liveness was last checked, whether or not it got an answer (UTC).",
        },
        "reachable": {
            "type": "boolean",
            "description": (
                "False when the last check could not reach the space's source (no connection, "
                "no answer in time, a server error): its state is then the last one known."
            ),
        },
    },
}

HOST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["name", "handle", "url"],
    "description": "Empty strings when the host is not known.",
    "properties": {
        "name": _STRING,
        "handle": _STRING,
        "url": {
            "type": "string",
            "description": "The host's profile, or their page on this portal when unknown.",
        },
    },
}

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string", "description": "What was wrong, what to do."}},
}


def _text(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length}


def _param(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_FACET_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}

_LIST_SPACES = {
    "summary": "Search spaces",
    "operationId": "listSpaces",
    "parameters": [
        _param(
            "q",
            {"type": "string", "maxLength": MAX_Q_LENGTH},
            "Words to search for; empty lists everything. Only letters and digits are "
            "looked for: a q with none (such as only emoji or punctuation) finds nothing, "
            "and the answer's `message` says so.",
        ),
        _param("state", {"type": "string", "enum": list(STATES)}, "Only this state."),
        _param("lang", _text(FILTER_LENGTHS["lang"]), "Only this language code."),
        _param("topic", _text(FILTER_LENGTHS["topic"]), "Only this topic."),
        _param("host", _text(FILTER_LENGTHS["host"]), "Only this host handle."),
        _param(
            "sort",
            {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "Order of results.",
        ),
        _param(
            "page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 1}, "Page number."
        ),
        _param(
            "per_page",
            {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": 20},
            "Results per page.",
        ),
    ],
    "responses": {
        "200": _json(
            {
                "type": "object",
                "required": ["total", "items", "facets"],
                "properties": {
                    "total": {"type": "integer"},
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Space"}},
                    "facets": {
                        "type": "object",
                        "required": ["state", "lang", "topic"],
                        "properties": {k: _FACET_COUNTS for k in ("state", "lang", "topic")},
                    },
                    "message": {
                        "type": "string",
                        "description": "Present when q has nothing to search for; says why "
                        "there are no results and what to type instead.",
                    },
                },
            },
            "One page of matching spaces, best first, with counts per facet value.",
        ),
        "400": _error_response(
            "A parameter is invalid (out of range, not one of its values, or empty where a "
            "value is required, such as sort=); the message says which."
        ),
        "default": _error_response("Any other error; the message says what to do."),
    },
}


_SUBMISSION = {
    "summary": "Submit a space link to crawl now",
    "description": "For a signed-in host (session cookie, with the X-CSRF-Token header). "
    "The link is crawled at once and listed within seconds; admins review submissions. "
    "Limited per host.",
    "operationId": "submitSpace",
    "requestBody": _URL_BODY,
    "responses": {
        "202": _json(
            {
                "type": "object",
                "required": ["status", "id", "url", "status_url"],
                "properties": {
                    "status": _STRING,
                    "id": {"type": "integer"},
                    "url": _STRING,
                    "status_url": _STRING,
                },
            },
            "Accepted; a crawl of the link is queued. GET `status_url` (same session) for "
            "its outcome: `state` pending, behind, found, nothing or failed, and `text` "
            "saying it in words.",
        ),
        "400": _error_response("The body or link is invalid, or the CSRF header is missing."),
        "401": _error_response("Not signed in."),
        "403": _error_response("The account is not a host account."),
        "429": {
            **_error_response("Too many submissions; see Retry-After."),
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
        "503": _error_response("The crawl queue is unavailable."),
    },
}


def openapi_document(server_url: str) -> dict[str, Any]:
    """Return the OpenAPI document, with `server_url` as the server."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Spaces portal API",
            "version": "1.0.0",
            "description": "Find live, scheduled and recent audio spaces. Times are UTC.",
        },
        "servers": [{"url": f"{server_url}/api/v1"}],
        "paths": {
            "/spaces": {"get": _LIST_SPACES},
            "/spaces/{id}": {
                "get": {
                    "summary": "Get one space",
                    "operationId": "getSpace",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                            "description": "Any whole number; one no space has is a 404.",
                        },
                    ],
                    "responses": {
                        "200": _json({"$ref": "#/components/schemas/Space"}, "The space."),
                        "400": _error_response("The id is not a whole number."),
                        "404": _error_response("No space has this id, or it was removed."),
                        "default": _error_response("Any other error; the message says why."),
                    },
                }
            },
            "/suggest": {
                "get": {
                    "summary": "Complete a search",
                    "operationId": "suggest",
                    "parameters": [
                        _param("q", {"type": "string", "maxLength": 100}, "What was typed.")
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "required": ["suggestions"],
                                "properties": {"suggestions": {"type": "array", "items": _STRING}},
                            },
                            "Titles, hosts or topics starting with q.",
                        ),
                        "400": _error_response("q is too long."),
                    },
                }
            },
            "/suggest/opensearch": {
                "get": {
                    "summary": "Complete a search, for browsers",
                    "description": "The same completions as /suggest, in the OpenSearch "
                    "suggestions form browsers read: `[q, [completion, ...]]`, q as sent. "
                    "/opensearch.xml points browsers here.",
                    "operationId": "suggestOpenSearch",
                    "parameters": [
                        _param("q", {"type": "string", "maxLength": 100}, "What was typed.")
                    ],
                    "responses": {
                        "200": {
                            "description": "What was typed, then the completions.",
                            "content": {
                                "application/x-suggestions+json": {
                                    # Two items: q as a string, then an array of strings.
                                    "schema": {
                                        "type": "array",
                                        "items": {
                                            "anyOf": [
                                                _STRING,
                                                {"type": "array", "items": _STRING},
                                            ]
                                        },
                                        "minItems": 2,
                                        "maxItems": 2,
                                    },
                                    "example": ["jaz", ["Jazz evening", "Jazz morning"]],
                                }
                            },
                        },
                        "400": _error_response("q is too long."),
                    },
                }
            },
            "/ping": {
                "post": {
                    "summary": "Announce that a room opened or ended",
                    "description": "The URL is crawled soon. Limited per client address.",
                    "operationId": "ping",
                    "requestBody": _URL_BODY,
                    "responses": {
                        "202": _json(
                            {
                                "type": "object",
                                "properties": {"status": _STRING, "url": _STRING},
                            },
                            "Accepted; a crawl of the URL is queued.",
                        ),
                        "400": _error_response("The body or URL is invalid."),
                        "429": {
                            **_error_response("Too many pings; see Retry-After."),
                            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        },
                        "503": _error_response("The crawl queue is unavailable."),
                    },
                }
            },
            "/submissions": {"post": _SUBMISSION},
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "operationId": "openapi",
                    "responses": {"200": {"description": "The OpenAPI document."}},
                }
            },
        },
        "components": {
            "schemas": {
                "Space": SPACE_SCHEMA,
                "Host": HOST_SCHEMA,
                "Health": HEALTH_SCHEMA,
                "Error": _ERROR,
            }
        },
    }
