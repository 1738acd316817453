"""The response cache: curators' changes show at once, all else within its TTL."""

from __future__ import annotations

import time

import redis
from flask.testing import FlaskClient

from core.catalog.models import Space
from core.catalog.records import Observation
from core.catalog.spaces import record_observation
from core.catalog.states import State
from core.services import Services, build_services
from tests.portal.perf.conftest import SHORT_TTL_S

SEARCH = "/search?q=zebra"
API = "/api/v1/spaces?q=zebra"


def _get(client: FlaskClient, path: str) -> tuple[str, str]:
    response = client.get(path)
    assert response.status_code == 200
    return response.headers.get("X-Cache", ""), response.get_data(as_text=True)


def _set_state(services: Services, space_id: int, state: State) -> None:
    with services.catalog.session() as session:
        record_observation(session, session.get(Space, space_id), Observation(state=state))


def test_a_repeated_search_is_served_from_the_cache(client, make_space) -> None:
    make_space("Zebra crossing talk")
    for path in (SEARCH, API):
        first, body = _get(client, path)
        second, again = _get(client, path)
        assert (first, second) == ("miss", "hit")
        assert again == body and "Zebra crossing talk" in body


def test_spellings_of_one_query_share_an_api_entry(client, make_space) -> None:
    make_space("Zebra crossing talk")
    assert _get(client, "/api/v1/spaces?q=zebra")[0] == "miss"
    assert _get(client, "/api/v1/spaces?q=+zebra+&page=1&sort=relevance")[0] == "hit"


def test_a_space_ending_shows_when_the_entry_expires(short_ttl, make_space) -> None:
    services, client = short_ttl
    space_id = make_space("Zebra live hour", state=State.LIVE)
    for path in (SEARCH, API):
        _get(client, path)
        assert _get(client, path)[0] == "hit"
    _set_state(services, space_id, State.ENDED)
    time.sleep(SHORT_TTL_S + 0.1)
    status, page = _get(client, SEARCH)
    assert status == "miss" and "badge-ended" in page and "badge-live" not in page
    status, body = _get(client, API)
    assert status == "miss" and '"state":"ended"' in body.replace(" ", "")


def test_state_changes_keep_the_cache_warm(make_space, client, services) -> None:
    # At scale spaces start and end many times a second: that must not empty the cache.
    space_id = make_space("Zebra later", state=State.SCHEDULED)
    _get(client, API)
    _set_state(services, space_id, State.LIVE)
    assert _get(client, API)[0] == "hit"


def test_a_count_update_waits_for_the_entry_to_expire(client, services, make_space) -> None:
    # Listener counts change on every check of every live space; bumping the generation
    # for each would leave nothing cached, so they show within the TTL instead.
    space_id = make_space("Zebra crowd", state=State.LIVE)
    _get(client, API)
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        record_observation(session, space, Observation(state=State.LIVE, listener_count=77))
    status, body = _get(client, API)
    assert status == "hit" and '"listener_count":77' not in body.replace(" ", "")


def test_featuring_a_space_shows_right_after_its_sync(client, services, make_space) -> None:
    space_id = make_space("Zebra pick")
    assert '"featured":false' in _get(client, API)[1].replace(" ", "")
    with services.catalog.session() as session:
        session.get(Space, space_id).featured = True
    status, body = _get(client, API)
    assert status == "miss" and '"featured":true' in body.replace(" ", "")


def test_a_hidden_space_disappears_right_after_its_sync(client, services, make_space) -> None:
    make_space("Zebra keeper")
    hidden = make_space("Zebra spam")
    for path in (SEARCH, API):
        assert "Zebra spam" in _get(client, path)[1]
    with services.catalog.session() as session:
        session.get(Space, hidden).hidden = True
    for path in (SEARCH, API):
        status, body = _get(client, path)
        assert status == "miss" and "Zebra spam" not in body and "Zebra keeper" in body


def test_another_process_hiding_a_space_clears_this_ones_cache(
    client, services, make_space
) -> None:
    make_space("Zebra keeper")
    space_id = make_space("Zebra elsewhere")
    _get(client, API)
    assert _get(client, API)[0] == "hit"
    # An admin's portal process builds its own services on the same configuration and Redis.
    other = build_services(services.config)
    try:
        with other.catalog.session() as session:
            session.get(Space, space_id).hidden = True
    finally:
        other.close()
    status, body = _get(client, API)
    assert status == "miss" and "Zebra elsewhere" not in body and "Zebra keeper" in body


def test_pages_of_visitors_with_a_session_are_never_cached(client, make_space) -> None:
    make_space("Zebra private")
    _get(client, SEARCH)
    client.set_cookie("spaces_session", "anything", domain="localhost")
    assert _get(client, SEARCH)[0] == ""
    assert _get(client, SEARCH)[0] == ""


def test_a_rendering_that_starts_a_session_is_not_kept(client, make_space) -> None:
    make_space("Zebra form")
    # The sign-in page puts a CSRF token in a new session: nothing of it may be shared.
    client.get("/account/signin")
    client.delete_cookie("spaces_session", domain="localhost")
    assert _get(client, SEARCH)[0] == "miss"


def test_only_the_canonical_address_of_a_search_page_is_shared(client, make_space) -> None:
    make_space("Zebra spelling")
    assert _get(client, "/search?q=zebra&page=1")[0] == ""
    assert _get(client, "/search?q=zebra&utm_source=x")[0] == ""
    assert _get(client, SEARCH)[0] == "miss"


def test_failed_searches_are_not_cached(client: FlaskClient) -> None:
    for _ in range(2):
        response = client.get("/api/v1/spaces?sort=nonsense")
        assert response.status_code == 400 and "X-Cache" not in response.headers


def test_without_redis_the_pages_still_answer(client, services, make_space) -> None:
    make_space("Zebra offline")
    working = services.redis
    services.__dict__["redis"] = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2)
    try:
        status, body = _get(client, API)
    finally:
        services.__dict__["redis"] = working
    assert status == "miss" and "Zebra offline" in body
