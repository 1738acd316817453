"""Reuse the page fixtures: an app on test services, a client and a space maker."""

from tests.portal.views.conftest import config, make_space, now

__all__ = ["config", "make_space", "now"]
