"""The services of the app handling the current request, for views and helpers."""

from __future__ import annotations

from flask import current_app

from core.services import Services

#: The key under which create_app keeps the app's Services in `app.extensions`.
EXTENSION = "spaces"


def current_services() -> Services:
    """Return the services built for the app handling this request."""
    services: Services = current_app.extensions[EXTENSION]
    return services
