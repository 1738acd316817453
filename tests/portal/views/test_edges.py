"""The portal's edges: ids out of range, searches with nothing to look for, JSON errors
wherever answers are JSON, and security headers on every error."""

from __future__ import annotations

from collections.abc import Iterator
from html import unescape
from urllib.parse import quote

import pytest
from flask import Flask
from sqlalchemy import text

from core.services import build_services
from portal.app import create_app
from tests.portal.accounts.helpers import csrf, make_user, sign_in

HUGE = "99999999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        f"/spaces/{HUGE}",
        "/spaces/2147483648",  # one past the largest id a catalog table holds
        f"/badge/{HUGE}.svg",
        f"/host/rooms/{HUGE}",
        f"/me/searches/{HUGE}.atom",
    ],
)
def test_ids_out_of_range_are_not_found(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 404, path


def test_the_largest_id_is_looked_up_and_not_found(client) -> None:
    assert client.get("/spaces/2147483647").status_code == 404
    assert client.get("/api/v1/spaces/2147483647").status_code == 404


def test_an_api_id_out_of_range_is_a_json_404(client, make_space) -> None:
    make_space(title="Jazz night")
    for raw in (HUGE, "2147483648", "0", "-3", "9" * 5000):
        response = client.get(f"/api/v1/spaces/{raw}")
        assert response.status_code == 404 and response.mimetype == "application/json", raw
        assert "no space with id" in response.get_json()["error"]


def test_an_api_id_that_is_no_number_is_a_json_400(client) -> None:
    for raw in ("abc", "1.5", "١"):
        response = client.get(f"/api/v1/spaces/{quote(raw)}")
        assert response.status_code == 400 and response.mimetype == "application/json", raw
        assert "whole number" in response.get_json()["error"]


def test_an_id_in_range_still_finds_the_space(client, make_space) -> None:
    space_id = make_space(title="Jazz night")
    assert client.get(f"/spaces/{space_id}").status_code == 200
    assert client.get(f"/api/v1/spaces/{space_id}").get_json()["title"] == "Jazz night"
    assert client.get(f"/badge/{space_id}.svg").status_code == 200


@pytest.mark.parametrize("q", ["🎷", "!!!", "—", "🎷 🎺 !!", "\x00\x01", "()*:\"'"])
def test_a_search_with_no_letters_or_digits_says_so(client, make_space, q) -> None:
    make_space(title="Jazz night")
    response = client.get("/search", query_string={"q": q})
    page = unescape(response.get_data(as_text=True))
    assert "no letters or digits to look for" in page
    assert "Jazz night" not in page  # nothing is listed as if it matched
    assert "Spaces matching" not in page


@pytest.mark.parametrize("q", ["🎷", "!!!", "—"])
def test_the_api_answers_such_a_search_with_a_message(client, make_space, q) -> None:
    make_space(title="Jazz night")
    response = client.get("/api/v1/spaces", query_string={"q": q})
    assert response.status_code == 200
    body = response.get_json()
    assert body["total"] == 0 and body["items"] == []
    assert body["facets"] == {"state": {}, "lang": {}, "topic": {}}
    assert "no letters or digits" in body["message"]


def test_words_among_symbols_are_searched(client, make_space) -> None:
    make_space(title="Jazz night")
    body = client.get("/api/v1/spaces", query_string={"q": "🎷 jazz!"}).get_json()
    assert [item["title"] for item in body["items"]] == ["Jazz night"]
    assert "message" not in body
    page = client.get("/search", query_string={"q": "🎷 jazz!"}).get_data(as_text=True)
    assert "Jazz night" in page and "no letters or digits" not in page


def test_cjk_words_are_searched(client, make_space) -> None:
    make_space(title="爵士 之夜")
    body = client.get("/api/v1/spaces", query_string={"q": "爵士"}).get_json()
    assert "message" not in body


def test_the_document_says_what_a_symbol_only_query_gets(client) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"]["/spaces"]["get"]
    q = next(p for p in operation["parameters"] if p["name"] == "q")
    assert "message" in q["description"]
    properties = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert "message" in properties["properties"]
    limits = {p["name"]: p["schema"].get("maxLength") for p in operation["parameters"]}
    assert limits["q"] == 500 and limits["lang"] == 12 and limits["topic"] == 40


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("sort=", "sort must be one of relevance, listeners, recent, starting (it was empty)"),
        ("sort=loudest", "(it was 'loudest')"),
        ("state=", "state must be one of live, scheduled, ended (it was empty)"),
        ("page=", "page must be a whole number"),
        ("per_page=", "per_page must be a whole number"),
        ("page=" + "9" * 40, "page must be between 1 and 1000"),
        ("page=%EF%BC%92", "page must be a whole number"),  # a full-width digit
        ("host=" + "x" * 121, "host must be at most 120 characters"),
        ("q=" + "x" * 501, "q must be at most 500 characters"),
    ],
)
def test_what_the_document_forbids_is_a_json_400(client, args, message) -> None:
    response = client.get(f"/api/v1/spaces?{args}")
    assert response.status_code == 400 and response.mimetype == "application/json", args
    assert message in response.get_json()["error"], args


def test_the_search_page_takes_an_empty_choice_as_none(client, make_space) -> None:
    make_space(title="Jazz night")
    html = client.get("/search?q=jazz&sort=&state=&page=").get_data(as_text=True)
    assert "Jazz night" in html


def test_the_longest_query_the_document_allows_is_answered(client, make_space) -> None:
    make_space(title="爵士" * 10, lang="zh", topics=["音乐"])
    args = {"q": "爵" * 500, "lang": "z" * 12, "topic": "音" * 40, "host": "h" * 120}
    response = client.get("/api/v1/spaces", query_string=args)
    assert response.status_code == 200
    assert response.get_json()["total"] == 0


# -- JSON wherever answers are JSON -----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/oembed", 400),
        ("GET", "/oembed?url=nonsense", 400),
        ("GET", "/oembed?url=http%3A%2F%2Felsewhere.test%2Fspaces%2F1", 404),
        ("GET", "/oembed?url=http%3A%2F%2Fportal.test%2Fspaces%2F424242", 404),
        ("GET", f"/oembed?url=http%3A%2F%2Fportal.test%2Fspaces%2F{HUGE[:18]}", 404),
        ("GET", "/oembed?url=http%3A%2F%2Fportal.test%2Fspaces%2F1&maxwidth=-1", 400),
        ("GET", "/oembed?url=x&format=xml", 501),
        ("POST", "/oembed", 405),
        ("DELETE", "/oembed", 405),
        ("GET", "/api/v1/nothing", 404),
        ("POST", "/api/v1/spaces", 405),
        ("DELETE", "/api/v1/suggest", 405),
        ("GET", "/api/v1/suggest?q=" + "x" * 101, 400),
        ("GET", f"/api/v1/spaces/{HUGE}", 404),
    ],
)
def test_errors_of_json_endpoints_are_json(client, method, path, status) -> None:
    response = client.open(path, method=method)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert isinstance(error, str) and error and "<" not in error.split("url=")[0]
    assert response.headers["Content-Security-Policy"]


def test_a_405_says_which_methods_are_offered(client) -> None:
    response = client.post("/oembed")
    assert "GET" in response.headers["Allow"]
    assert "Only GET" in response.get_json()["error"]


def test_a_failure_inside_oembed_is_a_json_500(app: Flask, client, make_space) -> None:
    space_id = make_space(title="Jazz night")
    with app.app_context():
        services = app.extensions["spaces"]
        with services.catalog.session() as session:
            session.execute(text("DROP TABLE sightings"))
            session.execute(text("DROP TABLE spaces"))
    url = quote(f"http://portal.test/spaces/{space_id}", safe="")
    response = client.get(f"/oembed?url={url}")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json() == {
        "error": "Something went wrong on our side. Try again in a moment."
    }


@pytest.fixture
def limited(config, services) -> Iterator[Flask]:
    """An app whose ping and sign-in limits allow one request a minute."""
    shared = config.with_(extra={"ping_rate_limit": 1, "signin_rate_limit": 1})
    built = build_services(shared)
    yield create_app(shared, built)
    built.close()


def test_rate_limited_api_calls_are_json(limited) -> None:
    client = limited.test_client()
    client.post("/api/v1/ping", json={"url": "https://rooms.example/s/a"})
    response = client.post("/api/v1/ping", json={"url": "https://rooms.example/s/a"})
    assert response.status_code == 429 and response.mimetype == "application/json"
    assert "too many pings" in response.get_json()["error"]
    assert response.headers["Retry-After"]
    assert response.headers["Content-Security-Policy"]


# -- security headers on every error ----------------------------------------------------

HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options")


def _assert_secured(response, what: str) -> None:
    for name in HEADERS:
        assert response.headers.get(name), (what, name)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"], what


def test_error_pages_carry_the_security_headers(client, limited) -> None:
    cases = {
        "404": client.get("/nothing-here"),
        "404 id": client.get(f"/spaces/{HUGE}"),
        "405": client.delete("/"),
        "400 search": client.get("/search?sort=loudest"),
    }
    visitor = limited.test_client()
    token = csrf(visitor)
    for _ in range(2):
        form = {"csrf_token": token, "email": "a@example.org", "password": "wrong"}
        cases["429"] = visitor.post("/account/signin", data=form)
    assert cases["429"].status_code == 429
    for what, response in cases.items():
        assert response.status_code >= 400, what
        _assert_secured(response, what)


def test_a_500_page_carries_them_even_when_the_error_page_fails(app, services) -> None:
    """A signed-in visitor's error page reads the catalog; with it broken, the page fails
    too, and the answer must still be a 500 with the policy, never the server's bare one."""
    make_user(services, "ada@example.org")
    client = app.test_client()
    sign_in(client, "ada@example.org")
    with services.catalog.session() as session:
        session.execute(text("DROP TABLE notifications"))
        session.execute(text("DROP TABLE reminders"))
    page = client.get("/nothing-here")
    assert page.status_code == 500
    _assert_secured(page, "page")
    assert "Something went wrong" in page.get_data(as_text=True)
