"""Wire the portal's pages and API into the app: blueprints, errors, headers, helpers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError

from core.services import Services
from core.timeutil import isoformat, utcnow
from portal import accounts, admin, listeners, present
from portal.context import EXTENSION
from portal.feeds import feeds
from portal.hosting.api import hosting_api
from portal.hosting.views import hosting
from portal.security import (
    apply_security_headers,
    content_security_policy,
    origin_of,
    wants_json,
)
from portal.views.about import about
from portal.views.api import api
from portal.views.metrics import metrics
from portal.views.pages import pages
from portal.views.websub import websub

log = logging.getLogger(__name__)

_MESSAGES = {
    400: "The request could not be understood.",
    404: "There is nothing at this address. It may have been removed, or the link is wrong.",
    405: "This address does not accept that method.",
    429: "Too many requests. Wait a little and try again.",
    500: "Something went wrong on our side. Try again in a moment.",
}


def _error_response(error: HTTPException) -> tuple[Response, int]:
    code = error.code or 500
    # Our own aborts carry a specific description; Werkzeug's defaults are too generic.
    specific = error.description != type(error).description
    message = error.description if specific else _MESSAGES.get(code, error.description)
    if wants_json(request.path):
        if code == 404 and not specific:
            message = "no such API endpoint; see /api/v1/openapi.json for the ones there are"
        response = jsonify({"error": message})
        response.status_code = code
    else:
        response = Response(
            render_template("portal/error.html", code=code, message=message), status=code
        )
    for name, value in error.get_headers():
        if name.lower() not in ("content-type", "content-length"):
            response.headers[name] = value
    return response, code


def _install_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response, int]:
        return _error_response(error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _error_response(InternalServerError())


def _install_template_helpers(app: Flask, services: Services) -> None:
    interval = services.config.live_check_interval_s
    env = app.jinja_env
    env.filters["http_url"] = present.http_url
    env.filters["iso"] = isoformat
    env.filters["when"] = present.when_text
    env.globals["link_out_label"] = present.link_out_label
    env.globals["link_out"] = present.link_out
    env.globals["reach_note"] = present.reach_note
    env.globals["reach_source"] = present.reach_source
    # The player dock accepts messages only from the room server's origin.
    env.globals["rooms_origin"] = origin_of(services.config.rooms_url)

    @app.context_processor
    def helpers() -> dict[str, Any]:
        now = g.get("now") or utcnow()
        return {
            "now": now,
            "ago": lambda value: present.ago(value, now),
            "badge": lambda space: present.badge(space, now, interval),
            "snippet": present.snippet_markup,
        }


def register(app: Flask) -> None:
    """Register the pages, the JSON API, error handling and security headers on `app`."""
    services: Services = app.extensions[EXTENSION]
    policy = content_security_policy(services.config)
    # Keep fields in the documented order (Flask sorts JSON keys unless told not to).
    app.json.sort_keys = False  # type: ignore[attr-defined]  # typed as the base JSONProvider

    @app.before_request
    def stamp_time() -> None:
        # One "now" per request, so every relative time on a page agrees.
        g.now = utcnow()

    @app.after_request
    def secure(response: Response) -> Response:
        return apply_security_headers(response, policy)

    _install_template_helpers(app, services)
    _install_error_handlers(app)
    # Accounts first: their CSRF check must run before any other view's code.
    accounts.init_app(app)
    listeners.init_app(app)
    app.register_blueprint(pages)
    app.register_blueprint(api, url_prefix="/api/v1")
    app.register_blueprint(feeds)
    app.register_blueprint(hosting)
    app.register_blueprint(hosting_api, url_prefix="/api/v1")
    admin.init_app(app)
    app.register_blueprint(metrics)
    app.register_blueprint(websub)
    app.register_blueprint(about)
