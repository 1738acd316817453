"""Admin tools: the curation queue, actions with an audit log and undo, sources, operations."""

from __future__ import annotations

from flask import Flask

from portal.admin import home
from portal.admin import users as _people  # noqa: F401 - the people pages, on `admin`
from portal.admin.outbox import outbox
from portal.admin.views import admin


def init_app(app: Flask) -> None:
    """Register the admin pages and the home page's curated sections."""
    app.register_blueprint(admin)
    app.register_blueprint(outbox)
    home.init_app(app)
