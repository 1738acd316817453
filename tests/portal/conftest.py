"""Fixtures shared by the portal's tests: the app on the test services, and its client."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket

from core.services import Services
from portal.app import create_app


class CompiledTemplates(BytecodeCache):
    """Keep compiled templates in memory for every app this process builds.

    Each test builds its own app, whose template environment would compile every page
    template again (a tenth of a second a test); a changed template's source no longer
    matches its checksum and is compiled afresh.
    """

    def __init__(self) -> None:
        self.compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if (code := self.compiled.get(bucket.key)) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.compiled[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()


@pytest.fixture
def app(services: Services) -> Flask:
    built = create_app(services.config, services)
    built.jinja_env.bytecode_cache = COMPILED
    return built


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
