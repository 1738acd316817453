"""Admin tests use the host fixtures: accounts, a signed-in client, spaces."""

from tests.portal.hosting.conftest import app, client, config, make_space, make_user, now

__all__ = ["app", "client", "config", "make_space", "make_user", "now"]
