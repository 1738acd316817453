"""Account tests use the portal's page fixtures: an app on fresh services, a space maker."""

from tests.portal.views.conftest import config, make_space, now

__all__ = ["config", "make_space", "now"]
