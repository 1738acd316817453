"""Every state-changing route refuses a request without this session's CSRF token."""

from __future__ import annotations

import pytest

from tests.portal.accounts.helpers import csrf, make_user, sign_in
from tests.portal.security.routes import UNSAFE, routes

REFUSAL = "did not come from this site"


@pytest.fixture
def signed_in(app, services):
    """A client signed in as an admin who is also a host: only the token can stop it."""
    make_user(services, "boss@example.org", host=True, admin=True)
    client = app.test_client()
    sign_in(client, "boss@example.org")
    return client


#: Exempt on purpose: pings authenticate nothing and only queue a crawl; the next only
#: answers that oEmbed offers GET alone (tests/portal/feeds/test_embeds.py checks it);
#: WebSub hubs push with no session, their bodies signed (tests/portal/test_websub.py).
#: One-click unsubscribe (RFC 8058) is posted by mail clients with no cookie; the signed
#: token in its URL is what authorises it (tests/portal/listeners/test_settings.py).
EXEMPT = ("api.ping", "feeds.embeds.oembed_other_methods", "websub.receive", "notify.unsubscribe")


def _unsafe(app):
    return [r for r in routes(app) if r.method in UNSAFE and r.endpoint not in EXEMPT]


def test_every_form_route_needs_the_token(app, signed_in) -> None:
    forms = [r for r in _unsafe(app) if not r.path.startswith("/api/")]
    assert len(forms) >= 10, "the URL map walk found too few form routes"
    for route in forms:
        for data in ({}, {"csrf_token": "forged"}):
            response = signed_in.open(route.path, method=route.method, data=data)
            assert response.status_code == 400, (route, data)
            assert REFUSAL in response.get_data(as_text=True), route
        # And anonymous visitors are refused just the same, before any redirect.
        anonymous = app.test_client().open(route.path, method=route.method, data={})
        assert anonymous.status_code == 400, route


def test_session_api_calls_need_the_header(app, signed_in) -> None:
    api = [r for r in _unsafe(app) if r.path.startswith("/api/")]
    for route in api:
        response = signed_in.open(route.path, method=route.method, json={"url": "x"})
        assert response.status_code == 400, route
        assert REFUSAL in response.get_json()["error"], route
        forged = signed_in.open(
            route.path, method=route.method, json={}, headers={"X-CSRF-Token": "forged"}
        )
        assert forged.status_code == 400, route


def test_the_right_token_passes(signed_in) -> None:
    token = csrf(signed_in)
    assert signed_in.post("/account/signout", data={"csrf_token": token}).status_code == 302
    # A header works for forms too, so scripts on our pages can post.
    client = signed_in.application.test_client()
    sign_in(client, "boss@example.org")
    response = client.post("/me/notifications/read", headers={"X-CSRF-Token": csrf(client)})
    assert response.status_code == 302


def test_session_api_call_with_the_header_reaches_the_view(signed_in) -> None:
    response = signed_in.post(
        "/api/v1/submissions", json={}, headers={"X-CSRF-Token": csrf(signed_in)}
    )
    assert response.status_code != 400 or REFUSAL not in response.get_json()["error"]


def test_pings_need_no_session_or_token(client) -> None:
    response = client.post("/api/v1/ping", json={"url": "nope"})
    assert response.status_code == 400 and "absolute" in response.get_json()["error"]
