"""Reuse the page fixtures: an app on test services, a client and a space maker."""

from tests.portal.views.conftest import app, client, config, make_space, now

__all__ = ["app", "client", "config", "make_space", "now"]
