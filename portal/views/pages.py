"""The portal's server-rendered pages: home, search, a space, a host, a topic."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import astuple
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, abort, g, render_template, request, url_for
from flask.blueprints import BlueprintSetupState

from core.catalog.models import Host, Space
from core.search.base import QueryError, SearchQuery, SearchResult
from portal import cache, present, queries
from portal.accounts import current_user
from portal.context import current_services
from portal.feeds import FEED_SIZE, atom_response
from portal.feeds.jsonld import broadcast_event, script_json
from portal.feeds.oembed import embed_snippets
from portal.feeds.opensearch import opensearch_description
from portal.hosting.roomserver import listen_token, profile_url
from portal.views.params import query_args, search_query

pages = Blueprint("pages", __name__)


def _install_cache(state: BlueprintSetupState) -> None:
    """Give the app its response cache when this blueprint is first registered."""
    cache.install(state.app)


pages.record_once(_install_cache)

#: SearchQuery refuses pages past this, so pagination never links beyond it.
MAX_PAGE = 1000
#: Characters url_for leaves unescaped in query strings (the WHATWG URL spec's set).
URL_SAFE = "!$'()*,/:;?@"
#: Characters url_for leaves unescaped in path parts (werkzeug's converters use this set).
PATH_SAFE = "!$&'()*+,/:;=@"


@pages.app_template_filter("path_part")
@functools.lru_cache(maxsize=4096)
def path_part(value: object) -> str:
    """Quote a value for a URL path exactly as url_for would, without routing."""
    return quote(str(value), safe=PATH_SAFE)


@pages.get("/")
def home() -> str:
    """Show what is live now, what is coming up and what is being shared."""
    services = current_services()
    interval = services.config.live_check_interval_s
    with services.catalog.sessions() as session:
        return render_template(
            "portal/home.html",
            live=queries.live_now(session, g.now, interval),
            upcoming=queries.upcoming(session, g.now),
            trending=queries.trending(session, g.now),
        )


def _run_search(query: SearchQuery) -> tuple[SearchResult, list[Space], dict[int, str]]:
    """Search, then load the hits from the catalog in result order, with their snippets."""
    services = current_services()
    result = services.search.search(query)
    snippets = {hit.id: hit.snippet for hit in result.hits}
    with services.catalog.sessions() as session:
        spaces = queries.spaces_in_order(session, [hit.id for hit in result.hits])
    return result, spaces, snippets


def _page_count(result: SearchResult, query: SearchQuery) -> int:
    return min(MAX_PAGE, max(1, math.ceil(result.total / query.per_page)))


@pages.get("/search")
def search() -> tuple[str, int] | Response:
    """Search spaces, with facets to narrow down and a choice of order."""
    try:
        query = search_query(request.args)
    except QueryError as error:
        return render_template(
            "portal/search.html", query=_as_typed(), error=str(error), result=None
        ), 400
    link = _search_links(query)
    render = functools.partial(_search_page, query, link)
    # Pages link back to their own address (sign in, then return), so only the canonical
    # address of a query is shared; any other spelling of it is rendered for itself.
    if request.full_path.rstrip("?") != link():
        return render()
    return cache.serve("search", astuple(query), render, per_visitor=True)


def _as_typed() -> SearchQuery:
    """The words of a search that could not be run, so the box keeps what was typed."""
    try:
        return SearchQuery(q=(request.args.get("q") or "").strip()[:500])
    except QueryError:
        return SearchQuery()


def _search_page(query: SearchQuery, link: Callable[..., str]) -> Response:
    result, spaces, snippets = _run_search(query)
    body = render_template(
        "portal/search.html",
        query=query,
        result=result,
        spaces=spaces,
        snippets=snippets,
        pages=_page_count(result, query),
        link=link,
        feed_url=_search_feed_path(query),
        error=None,
    )
    return Response(body, mimetype="text/html")


def _search_feed_path(query: SearchQuery) -> str:
    """Return the address of the Atom feed of a search (of its first page, whatever page)."""
    args = query_args(query, page=None)
    base = url_for("pages.search_feed")
    return f"{base}?{urlencode(args, safe=URL_SAFE)}" if args else base


@pages.get("/feeds/search.atom")
def search_feed() -> Response:
    """List what a search finds, in the order the search page shows it, as an Atom feed."""
    # A feed has no "next page" to follow: it is the search's first page, made longer.
    args = {k: v for k, v in request.args.items() if k not in ("page", "per_page")}
    try:
        query = search_query(args, per_page=FEED_SIZE)
        _, spaces, _ = _run_search(query)
    except QueryError as error:
        abort(400, description=f"This search cannot be run: {error}.")
    path = _search_feed_path(query)
    page = _search_links(query)(page=None)
    filters = query_args(query, q=None, sort=None, page=None)
    title = f"Spaces matching \u201c{query.q}\u201d" if query.q else "All spaces"
    if filters:
        title += " (" + ", ".join(f"{name}: {value}" for name, value in filters.items()) + ")"
    return atom_response(spaces, path, title, page=page)


def _search_links(query: SearchQuery) -> Callable[..., str]:
    """Return link(**changes): the search page's address with some parameters changed.

    A results page has dozens of facet and page links; building the path once and
    encoding only the query string (as url_for would) keeps them cheap.
    """
    base = url_for("pages.search")

    def link(**changes: Any) -> str:
        args = query_args(query, **changes)
        return f"{base}?{urlencode(args, safe=URL_SAFE)}" if args else base

    return link


@pages.get("/spaces/<int:space_id>")
def space(space_id: int) -> Response:
    """Show one space: who hosts it, its state, where it was shared, and how to listen."""
    services = current_services()
    config = services.config
    page_url = present.space_page_url(config, space_id)
    with services.catalog.sessions() as session:
        found = queries.visible_or_404(session, space_id)
        sightings = queries.sightings_of(session, space_id)
        shares = queries.share_counts(session, [space_id]).get(space_id, 0)
        player_src = _player_src(found)
        response = Response(
            render_template(
                "portal/space.html",
                space=found,
                sightings=sightings,
                shares=shares,
                page_url=page_url,
                share_text=present.share_text(found, config, g.now, config.live_check_interval_s),
                embed=present.embeds_player(found, config),
                player_src=player_src,
                json_ld=script_json(broadcast_event(found, config)),
                oembed_url=f"{config.portal_url}/oembed?{urlencode({'url': page_url})}",
                embed_snippets=embed_snippets(found, config),
            ),
            mimetype="text/html",
        )
    if "#token=" in player_src:
        response.headers["Cache-Control"] = "private, no-store"  # it names the person
    return response


def _player_src(space: Space) -> str:
    """Return the player's address; a signed-in person's carries who they are.

    The token rides in the fragment, which never leaves the browser, so the room server
    learns the person's name only from the signed token the player sends it.
    """
    src = present.http_url(space.player_url)
    user = current_user()
    if not src or user is None:
        return src
    config = current_services().config
    return f"{src}#token={listen_token(config, user, profile_url(config, user))}"


@pages.get("/hosts/<handle>")
def host(handle: str) -> str:
    """Show a host and their spaces, live and upcoming first."""
    services = current_services()
    with services.catalog.sessions() as session:
        hosts = queries.hosts_by_handle(session, handle)
        spaces = queries.spaces_of_hosts(session, [h.id for h in hosts])
        # Names in rooms link here, so a person with an account has a page even before
        # they host anything.
        person = queries.person_by_handle(session, handle)
        if not (hosts and spaces) and person is None:
            abort(404, description="We know no host by that handle, or none of their spaces.")
        shown: Host | _Profile
        if hosts and spaces:
            shown = hosts[0]
        else:
            assert person is not None
            shown = _Profile(person.display_name or person.handle, person.handle)
        links = [url for url in (present.http_url(h.url) for h in hosts) if url]
        return render_template(
            "portal/host_profile.html",
            host=shown,
            links=links,
            spaces=spaces,
            handle=handle,
            # The feed and calendar are of hosts' spaces: a person who never hosted has none.
            has_feeds=bool(hosts),
        )


class _Profile(NamedTuple):
    """What a host page shows of a person who has not hosted yet."""

    name: str
    handle: str


@pages.get("/topics/<path:topic>")  # topics may contain "/", such as "AI/ML"
def topic(topic: str) -> tuple[str, int] | str:
    """Show the spaces about one topic, live ones first."""
    args = dict(request.args)
    args["topic"] = topic
    args.setdefault("sort", "listeners")
    try:
        query = search_query(args)
    except QueryError as error:
        abort(400, description=str(error))
    result, spaces, snippets = _run_search(query)
    if result.total == 0:
        abort(404, description="No spaces about this topic yet. Try a search instead.")
    return render_template(
        "portal/topic.html",
        topic=topic,
        query=query,
        result=result,
        spaces=spaces,
        snippets=snippets,
        pages=_page_count(result, query),
        link=lambda **changes: url_for(
            "pages.topic", topic=topic, **query_args(query, topic=None, **changes)
        ),
    )


@pages.get("/opensearch.xml")
def opensearch() -> Response:
    """Describe the search box so browsers can offer it, with suggestions (OpenSearch 1.1)."""
    body = opensearch_description(current_services().config.portal_url)
    return Response(body, mimetype="application/opensearchdescription+xml")
