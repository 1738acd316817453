"""Security headers on every response, and crawled text that stays text everywhere."""

from __future__ import annotations

import re

import pytest

from tests.portal.views.conftest import ROOMS

PAYLOADS = [
    "<script>alert('t')</script>",
    '"><img src=x onerror=alert(1)>',
    "</textarea><svg onload=alert(2)>",
    "{{ 7*7 }}",
]
EVIL_TITLE = "Jazz " + PAYLOADS[0]
EVIL_DESC = "Jazz talk " + PAYLOADS[1] + " and " + PAYLOADS[2] + PAYLOADS[3]
EVIL_HOST = "Ella " + PAYLOADS[1]
EVIL_TOPIC = "jazz<b>bold</b>"


def test_csp_and_friends_on_every_kind_of_response(client) -> None:
    for path in ("/", "/search?q=x", "/nothing", "/api/v1/spaces", "/static/style.css"):
        response = client.get(path)
        csp = response.headers["Content-Security-Policy"]
        directives = dict(part.strip().split(" ", 1) for part in csp.split(";"))
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, path
        assert directives["script-src"] == "'self'"
        assert directives["style-src"] == "'self'"
        assert directives["frame-src"] == ROOMS
        assert ROOMS in directives["media-src"]
        assert directives["frame-ancestors"] == "'self'"
        assert directives["object-src"] == "'none'"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


@pytest.fixture
def evil_space(make_space, now) -> int:
    return make_space(
        title=EVIL_TITLE,
        description=EVIL_DESC,
        host_handle="ella",
        host_name=EVIL_HOST,
        topics=[EVIL_TOPIC],
        lang="en",
        checked=now,
        shared_on=(
            "javascript:alert(3)",
            "javascript://blog.test/%0Aalert(5)",
            "http://blog.test/<script>",
        ),
        host_url="javascript://ella.test/%0Aalert(4)",
    )


def test_payloads_render_inert_on_every_page(client, evil_space) -> None:
    paths = [
        "/",
        "/search?q=jazz",
        "/search?q=" + PAYLOADS[1],
        f"/spaces/{evil_space}",
        "/hosts/ella",
        "/topics/" + EVIL_TOPIC,
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for payload in PAYLOADS[:3]:
            assert payload not in html, (path, payload)
        assert "<b>bold</b>" not in html and "onerror=alert(1)>" not in html, path
        assert not re.search(r"(href|src|action)=\"\s*javascript:", html, re.I), path
    space_html = client.get(f"/spaces/{evil_space}").get_data(as_text=True)
    assert "Jazz &lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt;" in space_html
    assert "{{ 7*7 }}" in space_html  # shown as typed, never evaluated


def test_api_returns_payloads_as_plain_data(client, evil_space) -> None:
    response = client.get(f"/api/v1/spaces/{evil_space}")
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    space = response.get_json()
    assert space["title"] == EVIL_TITLE and space["description"] == EVIL_DESC
    assert space["host"]["name"] == EVIL_HOST
    assert space["host"]["url"] == "http://portal.test/hosts/ella"  # never a javascript: URL
    listed = client.get("/api/v1/spaces?q=jazz").get_json()["items"]
    assert [item["title"] for item in listed] == [EVIL_TITLE]


def test_snippet_markup_allows_only_mark() -> None:
    from portal.present import snippet_markup

    assert str(snippet_markup("a <mark>b</mark> &amp; c")) == "a <mark>b</mark> &amp; c"
    assert str(snippet_markup("<img src=x onerror=1><mark>x</mark>")) == (
        "&lt;img src=x onerror=1&gt;<mark>x</mark>"
    )
    assert str(snippet_markup('<mark onclick="x">y</mark>')) == (
        "&lt;mark onclick=&#34;x&#34;&gt;y</mark>"
    )
