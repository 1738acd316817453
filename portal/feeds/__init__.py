"""Feeds and embeds: Atom feeds, calendars, the live badge, oEmbed and OpenSearch."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, g, jsonify, request, url_for
from sqlalchemy.orm import Session
from werkzeug.exceptions import BadRequest, HTTPException, InternalServerError, MethodNotAllowed

from core.catalog.models import Host, Space
from core.search.base import QueryError, SearchQuery
from portal import queries
from portal.accounts.csrf import csrf_exempt
from portal.context import current_services
from portal.feeds.atom import atom_feed
from portal.feeds.badge import badge_svg
from portal.feeds.ical import host_calendar, space_calendar
from portal.feeds.oembed import BadEmbedUrl, oembed_json, space_id_from_url
from portal.feeds.opensearch import opensearch

log = logging.getLogger(__name__)

feeds = Blueprint("feeds", __name__)
# oEmbed is an API: its own blueprint, so every error it gives is JSON like its answers.
embeds = Blueprint("embeds", __name__)

FEED_SIZE = 50
MAX_TOPIC_LENGTH = 200
FEED_MAX_AGE_S = 60
BADGE_MAX_AGE_S = 30  # short: the badge says "live" and must stop saying it soon after


def _cached(response: Response, max_age: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}"
    return response


def atom_response(spaces: list[Space], path: str, title: str, page: str | None = None) -> Response:
    """Answer with an Atom feed of `spaces` at `path`; `page` is the page listing the same."""
    config = current_services().config
    body = atom_feed(
        spaces,
        config=config,
        self_url=config.portal_url + path,
        title=title,
        now=g.now,
        page_url=config.portal_url + page if page else None,
    )
    return _cached(Response(body, mimetype="application/atom+xml"), FEED_MAX_AGE_S)


@feeds.get("/feeds/live.atom")
def live_feed() -> Response:
    """List the spaces live now, biggest audience first."""
    services = current_services()
    interval = services.config.live_check_interval_s
    with services.catalog.sessions() as session:
        spaces = queries.live_now(session, g.now, interval, limit=FEED_SIZE)
        return atom_response(spaces, request.path, "Live now on Spaces")


@feeds.get("/feeds/topics/<path:topic>.atom")
def topic_feed(topic: str) -> Response:
    """List the most recent spaces about one topic."""
    services = current_services()
    if len(topic) > MAX_TOPIC_LENGTH:
        raise BadRequest(f"a topic is at most {MAX_TOPIC_LENGTH} characters")
    try:
        query = SearchQuery(topic=topic, sort="recent", per_page=FEED_SIZE)
        result = services.search.search(query)
    except QueryError as error:
        raise BadRequest(str(error)) from None
    with services.catalog.sessions() as session:
        spaces = queries.spaces_in_order(session, [hit.id for hit in result.hits])
        page = url_for("pages.topic", topic=topic)
        return atom_response(spaces, request.path, f"Spaces about #{topic}", page=page)


@feeds.get("/feeds/hosts/<handle>.atom")
def host_feed(handle: str) -> Response:
    """List one host's spaces, live and upcoming first."""
    services = current_services()
    with services.catalog.sessions() as session:
        hosts = _hosts_or_404(session, handle)
        spaces = queries.spaces_of_hosts(session, [h.id for h in hosts], limit=FEED_SIZE)
        name = hosts[0].name or hosts[0].handle
        page = url_for("pages.host", handle=handle)
        return atom_response(spaces, request.path, f"Spaces with {name}", page=page)


@feeds.get("/calendar/hosts/<handle>.ics")
def host_ics(handle: str) -> Response:
    """Return a host's scheduled spaces as a calendar to subscribe to."""
    services = current_services()
    with services.catalog.sessions() as session:
        hosts = _hosts_or_404(session, handle)
        spaces = [
            s
            for s in queries.spaces_of_hosts(session, [h.id for h in hosts], limit=200)
            if s.state == "scheduled" and s.scheduled_start is not None
        ]
        body = host_calendar(
            spaces, config=services.config, name=hosts[0].name or hosts[0].handle, now=g.now
        )
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="spaces.ics"'
    return _cached(response, FEED_MAX_AGE_S)


@feeds.get("/calendar/spaces/<int:space_id>.ics")
def space_ics(space_id: int) -> Response:
    """Return one space as a calendar event, for "Add to calendar"."""
    services = current_services()
    with services.catalog.sessions() as session:
        space = queries.visible_or_404(session, space_id)
        body = space_calendar(space, config=services.config, now=g.now)
    if body is None:
        abort(
            404,
            description="This space has no start time yet, so it cannot be added "
            "to a calendar. Follow its host to hear when it is scheduled.",
        )
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = f'attachment; filename="space-{space_id}.ics"'
    return _cached(response, FEED_MAX_AGE_S)


def _hosts_or_404(session: Session, handle: str) -> list[Host]:
    """Return the hosts known by `handle` (one per platform), or answer 404."""
    hosts = queries.hosts_by_handle(session, handle)
    if not hosts:
        abort(404, description="We know no host by that handle.")
    return hosts


@feeds.get("/badge/<int:space_id>.svg")
def badge(space_id: int) -> Response:
    """Draw a space's live badge for hosts to put on their own pages."""
    services = current_services()
    with services.catalog.sessions() as session:
        space = queries.visible_or_404(session, space_id)
        body = badge_svg(space, g.now, services.config.live_check_interval_s)
    response = _cached(Response(body, mimetype="image/svg+xml"), BADGE_MAX_AGE_S)
    # Pages on other sites embed the badge with <img>; let them.
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _size(name: str) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) <= 10_000:
        raise BadRequest(f"{name} must be a whole number of pixels between 1 and 10000")
    return int(raw)


@embeds.get("/oembed")
def oembed() -> Response:
    """Describe how to embed one of our space pages (oEmbed 1.0, JSON only)."""
    services = current_services()
    if request.args.get("format", "json") != "json":
        abort(501, description="Only format=json is offered.")
    try:
        space_id = space_id_from_url(request.args.get("url", ""), services.config)
    except BadEmbedUrl as error:
        raise BadRequest(str(error)) from None
    if space_id is None:
        abort(404, description="That address is not a space page of this site.")
    maxwidth, maxheight = _size("maxwidth"), _size("maxheight")
    with services.catalog.sessions() as session:
        space = queries.visible_or_404(session, space_id)
        answer = oembed_json(space, services.config, maxwidth=maxwidth, maxheight=maxheight)
    response = jsonify(answer)
    response.headers["Access-Control-Allow-Origin"] = "*"
    return _cached(response, FEED_MAX_AGE_S)


@embeds.route("/oembed", methods=["POST", "PUT", "PATCH", "DELETE", "TRACE"])
@csrf_exempt  # it changes nothing: it only says that these methods are not offered
def oembed_other_methods() -> Response:
    """Refuse methods other than GET, in JSON like every oEmbed answer."""
    raise MethodNotAllowed(valid_methods=["GET", "HEAD", "OPTIONS"])


_OEMBED_MESSAGES = {
    405: "Only GET is offered: GET /oembed?url=<a space page's address>.",
    500: "Something went wrong on our side. Try again in a moment.",
}


@embeds.errorhandler(Exception)
def oembed_error(error: Exception) -> Response:
    """Answer any oEmbed failure as JSON {"error": ...} with its status."""
    if not isinstance(error, HTTPException):
        log.exception("oEmbed request failed: %s", request.full_path)
        error = InternalServerError()
    code = error.code or 500
    # Our own aborts say something specific; Werkzeug's stock texts are replaced.
    specific = error.description != type(error).description
    message = error.description if specific else _OEMBED_MESSAGES.get(code, error.description)
    response = jsonify({"error": message})
    response.status_code = code
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


feeds.register_blueprint(embeds)
feeds.register_blueprint(opensearch)
