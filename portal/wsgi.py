"""WSGI entry point for the portal (gunicorn `portal.wsgi:app`)."""

from portal.app import create_app

app = create_app()
