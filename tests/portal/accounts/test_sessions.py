"""Sessions held on the server: sign-out, expiry, password changes and the Sessions page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, update

from core.catalog import auth_sessions
from core.catalog.models import AuthSession
from core.config import Config
from core.services import Services
from core.timeutil import utcnow
from portal.accounts.devices import device_label
from portal.app import create_app
from tests.portal.accounts.helpers import PASSWORD, csrf, make_user, sign_in

IDLE_S = 600
MAX_S = 3600
COOKIE = "spaces_session"
CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def config(config: Config) -> Config:
    return config.with_(session_idle_s=IDLE_S, session_max_s=MAX_S)


def _browser(app: Flask, user_agent: str = CHROME) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


def _start(services: Services, client: FlaskClient, user_id: int) -> None:
    """Sign `client` in as the form would, minus the password check (slow on purpose)."""
    agent = str(client.environ_base.get("HTTP_USER_AGENT", ""))
    with services.catalog.session() as db:
        token = auth_sessions.start(
            db, user_id, user_agent=agent, address="127.0.0.1", now=utcnow()
        )
    with client.session_transaction() as session:
        session["sid"] = token


def _signed_in(client: FlaskClient) -> bool:
    """Say whether a page that needs an account opens, rather than sending to sign-in."""
    response = client.get("/account/settings")
    if response.status_code == 302:
        assert response.headers["Location"].startswith("/account/signin")
        return False
    assert response.status_code == 200
    return True


def _rows(services: Services) -> list[AuthSession]:
    with services.catalog.sessions() as db:
        return list(db.scalars(select(AuthSession).order_by(AuthSession.created_at)))


def _age(services: Services, **ago: timedelta) -> None:
    """Move every session's times into the past, as if that much time had gone by."""
    now = utcnow()
    with services.catalog.session() as db:
        db.execute(update(AuthSession).values({name: now - by for name, by in ago.items()}))


def test_a_copied_cookie_stops_working_at_sign_out(app, services) -> None:
    make_user(services, "ann@example.org")
    browser = _browser(app)
    sign_in(browser, "ann@example.org")
    stolen = browser.get_cookie(COOKIE)
    assert stolen is not None
    thief = _browser(app)
    thief.set_cookie(COOKIE, stolen.value, domain="localhost")
    assert _signed_in(thief)  # before sign-out the copy works: that is the threat

    response = browser.post("/account/signout", data={"csrf_token": csrf(browser)})
    assert response.status_code == 302
    assert _rows(services) == []
    thief.set_cookie(COOKIE, stolen.value, domain="localhost")
    assert not _signed_in(thief)
    assert not _signed_in(browser)


def test_the_cookie_carries_only_a_random_token(app, services) -> None:
    user_id = make_user(services, "ann@example.org")
    browser = _browser(app)
    sign_in(browser, "ann@example.org")
    with browser.session_transaction() as session:
        token = session["sid"]
        assert "uid" not in session and str(user_id) != token
    (row,) = _rows(services)
    assert row.id == auth_sessions.hash_token(token) and row.user_id == user_id
    assert row.user_agent == CHROME and row.address == "127.0.0.1"


def test_signing_in_starts_a_fresh_session(app, services) -> None:
    make_user(services, "ann@example.org")
    browser = _browser(app)
    sign_in(browser, "ann@example.org")
    first = browser.get_cookie(COOKIE)
    sign_in(browser, "ann@example.org")
    assert browser.get_cookie(COOKIE).value != first.value
    # The browser's previous session ended with the new sign-in.
    assert len(_rows(services)) == 1


def test_an_idle_session_ends(app, services) -> None:
    browser = _browser(app)
    _start(services, browser, make_user(services, "ann@example.org"))
    _age(services, last_seen_at=timedelta(seconds=IDLE_S - 60))
    assert _signed_in(browser)
    _age(services, last_seen_at=timedelta(seconds=IDLE_S + 1))
    assert not _signed_in(browser)


def test_every_session_ends_at_the_absolute_lifetime(app, services) -> None:
    browser = _browser(app)
    _start(services, browser, make_user(services, "ann@example.org"))
    _age(services, created_at=timedelta(seconds=MAX_S - 60), last_seen_at=timedelta(0))
    assert _signed_in(browser)
    # In use all along, but signed in longer ago than the limit.
    _age(services, created_at=timedelta(seconds=MAX_S + 1), last_seen_at=timedelta(0))
    assert not _signed_in(browser)


def test_last_seen_is_written_at_most_once_a_minute(app, services) -> None:
    browser = _browser(app)
    _start(services, browser, make_user(services, "ann@example.org"))
    _age(services, last_seen_at=timedelta(seconds=30))
    seen = _rows(services)[0].last_seen_at
    assert _signed_in(browser)
    assert _rows(services)[0].last_seen_at == seen
    _age(services, last_seen_at=timedelta(seconds=90))
    assert _signed_in(browser)
    assert utcnow() - _rows(services)[0].last_seen_at < timedelta(seconds=10)


def test_a_password_change_ends_the_other_sessions_only(app, services) -> None:
    ann = make_user(services, "ann@example.org")
    here, there = _browser(app), _browser(app, FIREFOX)
    sign_in(here, "ann@example.org")
    _start(services, there, ann)
    data = {"csrf_token": csrf(here), "current": PASSWORD, "new": "a new long one", "confirm": ""}
    data["confirm"] = data["new"]
    assert here.post("/account/password", data=data).status_code == 302
    assert _signed_in(here)
    assert not _signed_in(there)
    assert len(_rows(services)) == 1


def test_sign_out_everywhere_else(app, services) -> None:
    ann = make_user(services, "ann@example.org")
    here, there, again, someone_else = (_browser(app) for _ in range(4))
    for browser in (here, there, again):
        _start(services, browser, ann)
    _start(services, someone_else, make_user(services, "bob@example.org"))

    response = here.post("/account/sessions/end-others", data={"csrf_token": csrf(here)})
    assert response.status_code == 302
    page = here.get(response.headers["Location"]).get_data(as_text=True)
    assert "Signed out everywhere else (2 sessions)." in page
    assert _signed_in(here) and _signed_in(someone_else)
    assert not _signed_in(there) and not _signed_in(again)


def test_the_sessions_page_lists_and_ends_sessions(app, services) -> None:
    ann = make_user(services, "ann@example.org")
    here, there = _browser(app), _browser(app, FIREFOX)
    sign_in(here, "ann@example.org")
    _start(services, there, ann)
    page = here.get("/account/sessions").get_data(as_text=True)
    assert "Chrome on Linux" in page and "Firefox on Windows" in page
    assert page.count("This device") == 1
    assert page.index("Chrome on Linux") < page.index("This device") < page.index("Firefox")
    assert "Sign out everywhere else" in page
    ended = re.findall(r'action="(/account/sessions/[0-9a-f]{64}/end)"', page)
    assert len(ended) == 2
    other = ended[1]  # this device is listed first

    response = here.post(other, data={"csrf_token": csrf(here)})
    assert response.status_code == 302
    page = here.get("/account/sessions").get_data(as_text=True)
    assert "The session on Firefox on Windows is ended" in page
    assert page.count("data-session=") == 1
    assert not _signed_in(there)
    assert _signed_in(here)
    # Ending it twice (another tab) says so instead of failing.
    again = here.post(other, data={"csrf_token": csrf(here)}, follow_redirects=True)
    assert "That session had already ended." in again.get_data(as_text=True)


def test_nobody_ends_another_accounts_session(app, services) -> None:
    ann, bob = _browser(app), _browser(app)
    _start(services, ann, make_user(services, "ann@example.org"))
    _start(services, bob, make_user(services, "bob@example.org"))
    with bob.session_transaction() as session:
        bobs = auth_sessions.hash_token(session["sid"])
    ann.post(f"/account/sessions/{bobs}/end", data={"csrf_token": csrf(ann)})
    assert _signed_in(bob)


def test_ending_this_devices_session_signs_out_here(app, services) -> None:
    browser = _browser(app)
    _start(services, browser, make_user(services, "ann@example.org"))
    (row,) = _rows(services)
    response = browser.post(f"/account/sessions/{row.id}/end", data={"csrf_token": csrf(browser)})
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert not _signed_in(browser) and _rows(services) == []


def test_the_sessions_page_needs_an_account(client) -> None:
    response = client.get("/account/sessions")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/account/signin")


def test_over_https_the_cookie_takes_the_host_prefix(services) -> None:
    app = create_app(services.config.with_(portal_url="https://spaces.example"), services)
    make_user(services, "ann@example.org")
    browser = app.test_client()
    sign_in(browser, "ann@example.org")
    assert browser.get_cookie(COOKIE) is None
    cookie = browser.get_cookie("__Host-session")
    assert cookie is not None and cookie.secure and cookie.path == "/"
    assert cookie.domain in ("", "localhost") and not cookie.domain.startswith(".")
    assert _signed_in(browser)


# -- the catalog functions ----------------------------------------------------------------


def test_catalog_sessions_end_all_keeps_one_and_prunes(any_services) -> None:
    services = any_services
    user_id = make_user(services, "ann@example.org")
    other_id = make_user(services, "bob@example.org")
    now = utcnow()
    with services.catalog.session() as db:
        tokens = [
            auth_sessions.start(db, user_id, user_agent="", address="", now=now) for _ in range(3)
        ]
        bobs = auth_sessions.start(db, other_id, user_agent="", address="", now=now)
    with services.catalog.session() as db:
        # `keep` may name a session by its raw token or by its id.
        assert auth_sessions.end_all(db, user_id, keep=auth_sessions.hash_token(tokens[0])) == 2
        assert [row.id for row in auth_sessions.list_for(db, user_id)] == [
            auth_sessions.hash_token(tokens[0])
        ]
        assert auth_sessions.end_all(db, user_id, keep=tokens[0]) == 0
        assert auth_sessions.find(db, tokens[0], now, IDLE_S, MAX_S) is not None
        assert auth_sessions.find(db, tokens[1], now, IDLE_S, MAX_S) is None
    later = now + timedelta(seconds=IDLE_S + 1)
    with services.catalog.session() as db:
        assert auth_sessions.list_for(db, user_id, now=later, idle_s=IDLE_S, max_s=MAX_S) == []
        assert auth_sessions.find(db, bobs, later, IDLE_S, MAX_S) is None
        assert auth_sessions.prune(db, later, IDLE_S, MAX_S) == 2
        assert db.scalar(select(func.count()).select_from(AuthSession)) == 0
        assert auth_sessions.end(db, tokens[0]) is False


@pytest.mark.parametrize(
    ("user_agent", "label"),
    [
        (CHROME, "Chrome on Linux"),
        (FIREFOX, "Firefox on Windows"),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86",
            "Edge on Windows",
        ),
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
            "Safari on iPhone",
        ),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "Safari on macOS",
        ),
        (
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
            "Chrome/131.0.0.0 Mobile Safari/537.36",
            "Chrome on Android",
        ),
        ("curl/8.5.0", "curl"),
        ("", "An unknown device"),
        ("Mozilla/5.0 (X11; Linux x86_64)", "A browser on Linux"),
    ],
)
def test_devices_are_named_the_way_people_say_them(user_agent, label) -> None:
    assert device_label(user_agent) == label
