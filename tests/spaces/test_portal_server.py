"""The portal's server as `spaces up` runs it answers every request its API document allows.

gunicorn refuses request lines longer than its limit before the app sees them; the
longest search the document allows (every string at its maxLength, in four-byte
characters, percent-encoded) must fit in the limit `spaces up` gives it.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from core.config import Config
from spaces.up import REQUEST_LINE_LIMIT, Stack, portal_server_flags
from tests.support import free_port

pytestmark = pytest.mark.slow

WIDE = "\U0001d11e"  # a musical symbol: four bytes of UTF-8, twelve characters encoded


def _get(port: int, path: str) -> tuple[int, dict[str, Any] | None]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        kind = response.getheader("Content-Type") or ""
        return response.status, json.loads(body) if kind.startswith("application/json") else None
    finally:
        conn.close()


def _longest_search(document: dict[str, Any]) -> str:
    """Return the longest /api/v1/spaces request path the document allows."""
    args: dict[str, str] = {}
    for param in document["paths"]["/spaces"]["get"]["parameters"]:
        schema = param["schema"]
        if "enum" in schema:
            args[param["name"]] = max(schema["enum"], key=len)
        elif schema["type"] == "integer":
            args[param["name"]] = str(schema["maximum"])
        else:
            assert "maxLength" in schema, f"{param['name']} has no maxLength in the document"
            args[param["name"]] = WIDE * schema["maxLength"]
    return "/api/v1/spaces?" + urlencode(args, quote_via=quote)


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory, embedded_redis_server) -> Iterator[int]:
    """The portal under gunicorn with the flags `spaces up` uses, on a loopback port."""
    from core.redisconn import embedded_redis_url

    data_dir = tmp_path_factory.mktemp("portal-server")
    config = Config(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'spaces.db'}",
        redis_url=embedded_redis_url(embedded_redis_server),
        secret_key="test-secret",
        rooms_secret="test-rooms-secret",
    )
    port = free_port()
    with Stack(config) as stack:
        stack.prepare_catalog()
        stack.start_portal("127.0.0.1", port)
        yield port


def test_the_flags_raise_gunicorns_request_line_limit() -> None:
    flags = portal_server_flags()
    assert flags[flags.index("--limit-request-line") + 1] == str(REQUEST_LINE_LIMIT)
    assert REQUEST_LINE_LIMIT > 4094  # gunicorn's default, too short for the document


def test_a_search_of_500_cjk_characters_is_answered(portal: int) -> None:
    path = "/api/v1/spaces?" + urlencode({"q": "爵士乐" * 166 + "爵士"}, quote_via=quote)
    assert len(path) > 4094
    status, body = _get(portal, path)
    assert status == 200, body
    assert body is not None and body["total"] == 0


def test_the_longest_request_the_document_allows_is_answered(portal: int) -> None:
    status, document = _get(portal, "/api/v1/openapi.json")
    assert status == 200 and document is not None
    path = _longest_search(document)
    assert len(f"GET {path} HTTP/1.1") <= REQUEST_LINE_LIMIT
    status, body = _get(portal, path)
    assert status == 200, body
    assert body is not None and "no letters or digits" in body["message"]


def test_a_longer_request_than_any_allowed_is_refused_by_the_server(portal: int) -> None:
    status, _ = _get(portal, "/api/v1/spaces?q=" + "x" * REQUEST_LINE_LIMIT)
    assert status in (400, 414)
