"""The Spaces portal: catalog, search, web UI and JSON API."""

from portal.app import create_app

__all__ = ["create_app"]
