"""Fixtures shared by the portal's tests: the app on the test services, and its client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from core.services import Services
from portal.app import create_app


@pytest.fixture
def app(services: Services) -> Flask:
    return create_app(services.config, services)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
