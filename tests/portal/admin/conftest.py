"""Admin tests use the host fixtures: accounts, a signed-in client, spaces."""

from tests.portal.hosting.conftest import config, make_space, make_user, now

__all__ = ["config", "make_space", "make_user", "now"]
