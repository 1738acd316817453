"""The JSON API: the documented shapes exactly, and errors that say what to fix."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from core.catalog.states import State
from tests.portal.views.conftest import ROOMS

SPACE_KEYS = [
    "id", "url", "title", "description", "host", "state", "listener_count", "speaker_count",
    "started_at", "scheduled_start", "ended_at", "topics", "lang", "source", "shares",
    "last_checked_at", "player_url", "featured", "health",
]  # fmt: skip
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def test_space_json_has_exactly_the_documented_fields(client, make_space, now) -> None:
    space_id = make_space(
        title="Morning jazz",
        description="Records",
        host_handle="ella",
        host_name="Ella",
        host_url="https://ella.test/",
        listener_count=12,
        speaker_count=3,
        topics=["jazz", "music"],
        lang="en",
        player_url=f"{ROOMS}/s/r1/embed",
        checked=now,
        shared_on=("http://a.test/1", "http://b.test/2"),
        featured=True,
    )
    response = client.get(f"/api/v1/spaces/{space_id}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    space = response.get_json()
    assert list(space) == SPACE_KEYS
    assert space["id"] == space_id
    assert space["url"] == f"{ROOMS}/s/r1"
    assert space["host"] == {"name": "Ella", "handle": "ella", "url": "https://ella.test/"}
    assert (space["state"], space["listener_count"], space["speaker_count"]) == ("live", 12, 3)
    assert space["topics"] == ["jazz", "music"] and space["lang"] == "en"
    assert space["shares"] == 2 and space["featured"] is True
    assert space["player_url"] == f"{ROOMS}/s/r1/embed"
    assert ISO_Z.match(space["started_at"]) and ISO_Z.match(space["last_checked_at"])
    assert space["scheduled_start"] is None and space["ended_at"] is None


def test_host_url_falls_back_to_the_host_page(client, make_space) -> None:
    space_id = make_space(host_handle="bob", host_name="Bob")
    host = client.get(f"/api/v1/spaces/{space_id}").get_json()["host"]
    assert host == {"name": "Bob", "handle": "bob", "url": "http://portal.test/hosts/bob"}


def test_list_spaces_in_result_order_with_facets(client, make_space, now) -> None:
    make_space(title="Jazz small", topics=["jazz"], lang="en", listener_count=3, checked=now)
    make_space(title="Jazz big", topics=["jazz"], lang="de", listener_count=30, checked=now)
    make_space(
        title="Jazz later",
        topics=["jazz"],
        state=State.SCHEDULED,
        scheduled_start=now + timedelta(hours=1),
    )
    response = client.get("/api/v1/spaces?q=jazz&sort=listeners")
    body = response.get_json()
    assert list(body) == ["total", "items", "facets"]
    assert body["total"] == 3
    assert [item["title"] for item in body["items"]][:2] == ["Jazz big", "Jazz small"]
    assert all(list(item) == SPACE_KEYS for item in body["items"])
    assert body["facets"]["state"] == {"live": 2, "scheduled": 1}
    assert body["facets"]["lang"]["de"] == 1
    assert body["facets"]["topic"] == {"jazz": 3}


def test_list_spaces_filters_and_pages(client, make_space) -> None:
    for n in range(5):
        make_space(title=f"Talk {n}", host_handle="ella" if n < 3 else "bob")
    body = client.get("/api/v1/spaces?host=ella&per_page=2&page=2").get_json()
    assert body["total"] == 3 and len(body["items"]) == 1
    assert body["items"][0]["host"]["handle"] == "ella"
    empty = client.get("/api/v1/spaces?host=ella&per_page=2&page=9").get_json()
    assert empty["total"] == 3 and empty["items"] == []
    assert set(empty["facets"]) == {"state", "lang", "topic"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("sort=loudest", "sort must be one of relevance, listeners, recent, starting"),
        ("state=paused", "state must be one of live, scheduled, ended"),
        ("page=0", "page must be between 1 and 1000"),
        ("page=1001", "page must be between 1 and 1000"),
        ("page=1.5", "page must be a whole number"),
        ("per_page=abc", "per_page must be a whole number"),
        ("per_page=101", "per_page must be between 1 and 100"),
        ("per_page=0", "per_page must be between 1 and 100"),
        ("lang=" + "x" * 13, "lang must be at most 12 characters"),
        ("topic=" + "x" * 41, "topic must be at most 40 characters"),
        ("sort=", "sort must be one of relevance, listeners, recent, starting (it was empty)"),
        ("state=", "state must be one of live, scheduled, ended (it was empty)"),
        ("page=", "page must be a whole number"),
    ],
)
def test_bad_parameters_are_400_with_a_reason(client, args, message) -> None:
    response = client.get(f"/api/v1/spaces?{args}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert message in response.get_json()["error"]


def test_unknown_space_and_endpoint_are_json_404s(client) -> None:
    for path in ("/api/v1/spaces/12345", "/api/v1/nothing"):
        response = client.get(path)
        assert response.status_code == 404 and response.mimetype == "application/json"
        assert response.get_json()["error"]


def test_wrong_method_is_a_json_405(client) -> None:
    response = client.delete("/api/v1/spaces")
    assert response.status_code == 405 and "error" in response.get_json()


def test_suggest(client, make_space) -> None:
    make_space(title="Jazz morning", topics=["jazzfunk"])
    body = client.get("/api/v1/suggest?q=jaz").get_json()
    assert list(body) == ["suggestions"] and "Jazz morning" in body["suggestions"]
    assert client.get("/api/v1/suggest?q=").get_json() == {"suggestions": []}
    assert client.get("/api/v1/suggest").get_json() == {"suggestions": []}
    assert client.get("/api/v1/suggest?q=" + "j" * 101).status_code == 400


def test_openapi_document_matches_the_api(client, make_space) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert set(doc["paths"]) == {
        "/spaces",
        "/spaces/{id}",
        "/suggest",
        "/suggest/opensearch",
        "/ping",
        "/submissions",
        "/openapi.json",
    }
    space_schema = doc["components"]["schemas"]["Space"]
    assert list(space_schema["properties"]) == SPACE_KEYS
    assert space_schema["required"] == SPACE_KEYS
    params = {p["name"]: p for p in doc["paths"]["/spaces"]["get"]["parameters"]}
    assert set(params) == {"q", "state", "lang", "topic", "host", "sort", "page", "per_page"}
    assert params["sort"]["schema"]["enum"] == ["relevance", "listeners", "recent", "starting"]
    assert params["state"]["schema"]["enum"] == ["live", "scheduled", "ended"]
    # Every field a real answer carries is described, with a matching JSON type.
    item = client.get(f"/api/v1/spaces/{make_space()}").get_json()
    json_types = {str: "string", int: "integer", bool: "boolean", list: "array", dict: "object"}
    for name, value in item.items():
        schema = space_schema["properties"][name]
        if "$ref" in schema:
            continue
        allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        expected = "null" if value is None else json_types[type(value)]
        assert expected in allowed, name


class BrokenSearch:
    """A search backend whose server has gone away."""

    name = "broken"

    def search(self, query):
        raise ConnectionError("search server unreachable")


def test_server_errors_say_little_and_stay_in_format(client, services, caplog) -> None:
    services.search = BrokenSearch()
    api = client.get("/api/v1/spaces?q=jazz")
    assert api.status_code == 500 and api.mimetype == "application/json"
    assert "unreachable" not in api.get_json()["error"]
    page = client.get("/search?q=jazz")
    assert page.status_code == 500 and page.mimetype == "text/html"
    assert "Something went wrong" in page.get_data(as_text=True)
    assert "search server unreachable" in caplog.text  # logged for the operator


def test_a_spaces_source_is_the_platform_it_is_on(client, make_space) -> None:
    on_rooms = make_space(platform="rooms", url=f"{ROOMS}/s/src1")
    on_x = make_space(platform="x", url="https://x.com/i/spaces/1SourceOfX")
    on_web = make_space(platform="web", url="https://club.example/e/7")
    sources = {
        space_id: client.get(f"/api/v1/spaces/{space_id}").get_json()["source"]
        for space_id in (on_rooms, on_x, on_web)
    }
    assert sources == {on_rooms: "rooms", on_x: "x", on_web: "web"}
    listed = client.get("/api/v1/spaces?per_page=100").get_json()["items"]
    assert {item["id"]: item["source"] for item in listed} == sources
