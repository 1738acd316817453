"""The Spaces portal: the Flask web pages and JSON API (build it with portal.app.create_app)."""
