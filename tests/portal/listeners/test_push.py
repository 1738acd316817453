"""Listeners keep a list of browsers that get push notifications, and can test them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from flask.testing import FlaskClient

from bench.peers.push_service import PushService
from core.catalog.models import PushDevice
from core.services import Services
from core.vapid import b64url, vapid_public_key
from tests.portal.accounts.helpers import csrf
from tests.portal.hosting.conftest import make_user, sign_in

__all__ = ["make_user"]

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"


@pytest.fixture(scope="module")
def push_service() -> Iterator[PushService]:
    server = PushService().start()
    yield server
    server.stop()


@pytest.fixture
def browser_sub(push_service: PushService, services: Services):
    """Return a maker of PushSubscription JSON, as a browser subscribed to our key gives."""
    return lambda: push_service.subscribe(vapid_public_key(services.config))


def post_subscription(
    client: FlaskClient, token: str, body: object, user_agent: str = CHROME_LINUX
):
    return client.post(
        "/me/devices",
        json=body,
        headers={"X-CSRF-Token": token, "User-Agent": user_agent},
    )


def devices(services: Services) -> list[tuple[int, str, str]]:
    with services.catalog.sessions() as db:
        rows = db.query(PushDevice).order_by(PushDevice.id).all()
        return [(row.user_id, row.label, row.endpoint) for row in rows]


def page_text(client: FlaskClient) -> str:
    return unescape(client.get("/me/devices").get_data(as_text=True))


def test_a_subscription_is_stored_and_listed(client, services, make_user, browser_sub) -> None:
    person = make_user()
    token = sign_in(client, person)
    page = page_text(client)
    key = re.search(r'data-key="([^"]+)"', page)
    assert key and key.group(1) == vapid_public_key(services.config)
    assert "No browsers yet" in page

    sub = browser_sub()
    answer = post_subscription(client, token, sub)
    assert answer.status_code == 201
    assert answer.json["label"] == "Chrome on Linux"
    assert "on your list" in answer.json["message"]
    page = page_text(client)
    assert "Chrome on Linux" in page and f'data-device-endpoint="{sub["endpoint"]}"' in page
    assert "not used yet" in page

    # The browser renews its subscription: same endpoint, new keys, still one device.
    renewed = {**sub, "keys": {**browser_sub()["keys"]}}
    assert post_subscription(client, token, renewed, FIREFOX_ANDROID).status_code == 200
    assert devices(services) == [(person.id, "Firefox on Android", sub["endpoint"])]


def test_the_same_browser_moves_to_whoever_signs_in(app, services, make_user, browser_sub) -> None:
    sub = browser_sub()
    first, second = make_user(), make_user()
    for person in (first, second):
        client = app.test_client()
        assert post_subscription(client, sign_in(client, person), sub).status_code in (200, 201)
    assert devices(services) == [(second.id, "Chrome on Linux", sub["endpoint"])]


def _with_keys(sub: dict, **keys: str) -> dict:
    return {**sub, "keys": {**sub["keys"], **keys}}


BAD = [
    (lambda sub: _with_keys(sub, p256dh=b64url(b"\x04" * 40)), "p256dh key"),
    (lambda sub: _with_keys(sub, p256dh=b64url(b"\x03" + b"\x01" * 32)), "p256dh key"),
    (lambda sub: _with_keys(sub, p256dh="not base64 at all!"), "p256dh key"),
    (lambda sub: _with_keys(sub, auth=b64url(b"\x01" * 8)), "auth secret"),
    (lambda sub: {"endpoint": sub["endpoint"]}, "no keys"),
    (lambda sub: {**sub, "endpoint": "http://push.example.com/x"}, "must use https"),
    (lambda sub: {**sub, "endpoint": "https://192.168.1.20/x"}, "private"),
    (lambda sub: "a string", "JSON object"),
]


def test_bad_subscriptions_are_refused_with_a_reason(
    client, services, make_user, browser_sub
) -> None:
    token = sign_in(client, make_user())
    for change, message in BAD:
        answer = post_subscription(client, token, change(browser_sub()))
        assert answer.status_code == 400, message
        assert message in answer.json["error"]
    assert devices(services) == []


def test_a_subscription_needs_the_csrf_token_and_an_account(
    app, services, make_user, browser_sub
) -> None:
    client = app.test_client()
    sign_in(client, make_user())
    assert post_subscription(client, "forged", browser_sub()).status_code == 400
    signed_out = app.test_client()
    answer = post_subscription(signed_out, csrf(signed_out), browser_sub())
    assert answer.status_code == 302 and "/account/signin" in answer.headers["Location"]
    assert devices(services) == []


def test_subscribing_is_rate_limited(client, services, make_user, browser_sub) -> None:
    services.config.extra["push_subscribe_rate_limit"] = 2
    token = sign_in(client, make_user())
    codes = [post_subscription(client, token, browser_sub()).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert len(devices(services)) == 2


def test_only_the_owner_can_remove_a_device(app, services, make_user, browser_sub) -> None:
    owner, other = app.test_client(), app.test_client()
    owner_token = sign_in(owner, make_user())
    other_token = sign_in(other, make_user())
    post_subscription(owner, owner_token, browser_sub())
    [(_, _, endpoint)] = devices(services)
    with services.catalog.sessions() as db:
        device_id = db.query(PushDevice).one().id

    refused = other.post(f"/me/devices/{device_id}/delete", data={"csrf_token": other_token})
    assert refused.status_code == 404
    assert len(devices(services)) == 1

    removed = owner.post(
        f"/me/devices/{device_id}/delete", data={"csrf_token": owner_token}, follow_redirects=True
    )
    text = unescape(removed.get_data(as_text=True))
    assert "Removed Chrome on Linux. It will get no more notifications." in text
    assert endpoint not in text and devices(services) == []


def test_the_test_button_reaches_each_browser(
    client, services, make_user, push_service, browser_sub
) -> None:
    token = sign_in(client, make_user())
    sub = browser_sub()
    post_subscription(client, token, sub)
    page = client.post("/me/devices/test", data={"csrf_token": token}, follow_redirects=True)
    text = unescape(page.get_data(as_text=True))
    assert "Test notification sent to 1 of 1 browser." in text
    [message] = push_service.received(sub["endpoint"])
    assert message.data == {
        "title": "Test notification from Spaces",
        "body": "Notifications reach this browser.",
        "url": "/me/devices",
        "tag": "spaces-test",
    }
    assert "last used" in text and "not used yet" not in text


def test_a_gone_browser_is_removed_when_tested(
    client, services, make_user, push_service, browser_sub
) -> None:
    token = sign_in(client, make_user())
    kept, gone = browser_sub(), browser_sub()
    post_subscription(client, token, kept)
    post_subscription(client, token, gone, FIREFOX_ANDROID)
    push_service.mark_gone(gone["endpoint"])
    page = client.post("/me/devices/test", data={"csrf_token": token}, follow_redirects=True)
    text = unescape(page.get_data(as_text=True))
    assert "Test notification sent to 1 of 2 browsers." in text
    assert "Removed from your list, as their subscriptions have ended: Firefox on Android." in text
    assert [endpoint for _, _, endpoint in devices(services)] == [kept["endpoint"]]
    assert len(push_service.received(kept["endpoint"])) == 1


def test_a_failing_push_service_is_reported(
    client, services, make_user, push_service, browser_sub
) -> None:
    token = sign_in(client, make_user())
    post_subscription(client, token, browser_sub())
    push_service.fail_next(503)
    page = client.post("/me/devices/test", data={"csrf_token": token}, follow_redirects=True)
    text = unescape(page.get_data(as_text=True))
    assert "Test notification sent to 0 of 1 browser." in text
    assert "Not delivered to Chrome on Linux: The push service answered 503" in text
    assert len(devices(services)) == 1  # a passing failure does not lose the browser


def test_the_service_worker_is_served_for_the_whole_site(client) -> None:
    answer = client.get("/sw.js")
    assert answer.status_code == 200
    assert answer.mimetype == "application/javascript"
    assert answer.headers["Cache-Control"] == "no-cache"
    assert "showNotification" in answer.get_data(as_text=True)


def test_the_overview_links_to_the_list(client, make_user) -> None:
    sign_in(client, make_user())
    page = client.get("/me/").get_data(as_text=True)
    assert 'href="/me/devices"' in page
