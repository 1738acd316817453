"""The Flask application factory."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import Config
from core.services import Services, build_services
from portal.context import EXTENSION
from portal.paths import templates_dir
from portal.security import SecurityHeaders, content_security_policy, init_rate_limits
from portal.views import register
from portal.views.params import IdConverter


def create_app(config: Config | None = None, services: Services | None = None) -> Flask:
    """Build the portal app; every client is created here, once."""
    config = config or Config.from_env()
    services = services or build_services(config)
    app = Flask("portal", template_folder=str(templates_dir()), static_folder="static")
    https = config.portal_url.startswith("https://")
    app.config.update(
        SECRET_KEY=config.secret_key,
        TESTING=config.testing,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=https,
        # __Host-: browsers keep it only if Secure, Path=/ and without Domain, so no
        # sibling subdomain can set or shadow the session cookie.
        SESSION_COOKIE_NAME="__Host-session" if https else "spaces_session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        # The cookie may live as long as a session; the catalog ends idle ones sooner.
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.session_max_s),
        JSON_SORT_KEYS=False,
    )
    app.extensions[EXTENSION] = services
    init_rate_limits(app, services.redis)
    proxies = int(config.extra.get("trusted_proxies", 0))
    if proxies:
        # Behind that many reverse proxies, trust their X-Forwarded-* headers so rate
        # limits count real client addresses and redirects keep the public scheme.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]  # WSGI middleware wraps the method
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )

    # Ids in paths are bounded to what the catalog can hold: any larger number is a 404
    # like any other id that names nothing (rules read the converter when registered).
    app.url_map.converters["int"] = IdConverter
    register(app)
    # Outermost: even a response Flask could not finish carries the security headers.
    app.wsgi_app = SecurityHeaders(  # type: ignore[method-assign]  # WSGI middleware wraps the method
        app.wsgi_app, content_security_policy(config)
    )
    return app
