"""The portal's JSON API under /api/v1 (described by /api/v1/openapi.json)."""

from __future__ import annotations

import logging
from dataclasses import astuple
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import Blueprint, Response, jsonify, request
from flask.blueprints import BlueprintSetupState

from core.queues import enqueue_url_crawl
from core.search.base import FACETS, QueryError, SearchQuery
from portal import cache, present, queries
from portal.accounts.csrf import csrf_exempt
from portal.context import current_services
from portal.openapi import openapi_document
from portal.security import limit
from portal.views.params import WHOLE_NUMBER, NothingToSearch, parse_id, search_query

log = logging.getLogger(__name__)

api = Blueprint("api", __name__)


def _install_cache(state: BlueprintSetupState) -> None:
    """Give the app its response cache when this blueprint is first registered."""
    cache.install(state.app)


api.record_once(_install_cache)

MAX_URL_LENGTH = 2000
MAX_SUGGEST_LENGTH = 100


def _error(status: int, message: str, **headers: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    response.headers.update(headers)
    return response


@api.get("/spaces")
def list_spaces() -> Response:
    """Search spaces; return one page of them with the total and facet counts."""
    try:
        query = search_query(request.args, strict=True)
    except NothingToSearch:
        return _nothing_to_search()
    except QueryError as error:
        return _error(400, f"{error}. See /api/v1/openapi.json for the parameters.")
    # The answer is the same for everyone, signed in or not.
    return cache.serve("api", astuple(query), lambda: _spaces_page(query), per_visitor=False)


def _nothing_to_search() -> Response:
    """Answer a search whose words hold no letter or digit: no results, and why."""
    return jsonify(
        {
            "total": 0,
            "items": [],
            "facets": {name: {} for name in FACETS},
            "message": "q has no letters or digits to look for; try words, such as a topic",
        }
    )


def _spaces_page(query: SearchQuery) -> Response:
    services = current_services()
    result = services.search.search(query)
    with services.catalog.sessions() as session:
        found = queries.spaces_with_shares(session, [hit.id for hit in result.hits])
        items = [present.space_json(space, services.config, shares) for space, shares in found]
    facets = {name: dict(result.facets.get(name, {})) for name in FACETS}
    return jsonify({"total": result.total, "items": items, "facets": facets})


@api.get("/spaces/<space_id>")
def get_space(space_id: str) -> Response:
    """Return one space; the id is read here so a bad one gets a JSON answer saying so."""
    number = parse_id(space_id)
    if number is None:
        if not WHOLE_NUMBER.fullmatch(space_id):
            return _error(400, "the space id must be a whole number, as in /api/v1/spaces/42")
        # A number no space can have names nothing, like any unknown id.
        return _error(404, f"no space with id {space_id[:40]}; search with GET /api/v1/spaces")
    services = current_services()
    with services.catalog.sessions() as session:
        space = queries.get_visible(session, number)
        if space is None:
            return _error(404, f"no space with id {number}; search with GET /api/v1/spaces")
        shares = queries.share_counts(session, [number]).get(number, 0)
        return jsonify(present.space_json(space, services.config, shares))


@api.get("/suggest")
def suggest() -> Response:
    """Return completions for what is typed in the search box."""
    prefix = (request.args.get("q") or "").strip()
    if len(prefix) > MAX_SUGGEST_LENGTH:
        return _error(400, f"q must be at most {MAX_SUGGEST_LENGTH} characters")
    suggestions = current_services().search.suggest(prefix) if prefix else []
    return jsonify({"suggestions": list(suggestions)})


def _ping_url(body: Any) -> str:
    """Return the URL a ping announces; raise ValueError saying what is wrong with it."""
    if not isinstance(body, dict) or not isinstance(body.get("url"), str):
        raise ValueError('send a JSON object like {"url": "https://rooms.example/s/abc"}')
    url: str = body["url"].strip()
    if not url or len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url must be between 1 and {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise ValueError("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        raise ValueError("url is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        raise ValueError("url must be an absolute http:// or https:// address")
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not contain a user name or password")
    return url


@api.post("/ping")
@csrf_exempt  # room servers ping without a session; the URL is only ever crawled
def ping() -> Response:
    """Accept a room server's announcement that a room opened or ended; crawl it soon."""
    services = current_services()
    # Count before validating, so a flood of bad requests is limited too.
    limit("ping", request.remote_addr or "unknown", "pings")
    try:
        url = _ping_url(request.get_json(silent=True))
    except ValueError as error:
        return _error(400, str(error))
    try:
        enqueue_url_crawl(services, url, reason="ping")
    except redis.RedisError:
        log.exception("crawl queue unavailable; ping for %s dropped", url)
        return _error(503, "the crawl queue is not available; try again later")
    response = jsonify({"status": "accepted", "url": url})
    response.status_code = 202
    return response


@api.get("/openapi.json")
def openapi() -> Response:
    """Return the OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document(current_services().config.portal_url))
