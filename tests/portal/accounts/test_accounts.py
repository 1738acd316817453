"""Sign up, sign in and out, password changes, sessions, and `spaces user create`."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from core.catalog.models import User
from core.catalog.states import State
from spaces.cli import main
from tests.portal.accounts.helpers import PASSWORD, csrf, make_user, sign_in, token_of


def _signup(client, email="new@example.org", password=PASSWORD, confirm=None, **extra):
    page = client.get("/account/signup")
    data = {
        "csrf_token": token_of(page),
        "email": email,
        "password": password,
        "confirm": password if confirm is None else confirm,
        **extra,
    }
    return client.post("/account/signup", data=data)


def test_listening_needs_no_account(client, make_space) -> None:
    space_id = make_space(title="Open to all")
    assert client.get(f"/spaces/{space_id}").status_code == 200
    html = client.get("/").get_data(as_text=True)
    assert "Sign in" in html and "Sign out" not in html


def test_sign_up_makes_a_listener_and_signs_in(client, services) -> None:
    response = _signup(client, email=" New@Example.org ", display_name="  Nia   N ")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with services.catalog.sessions() as session:
        user = session.scalar(select(User))
    assert user.email == "new@example.org" and user.display_name == "Nia N"
    assert not (user.is_host or user.is_admin or user.protected)
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    html = client.get("/").get_data(as_text=True)
    assert "Sign out" in html and "Nia N" in html


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-address"}, "Enter an email address"),
        ({"password": "short"}, "at least 10 characters"),
        ({"confirm": "something else entirely"}, "two passwords differ"),
    ],
)
def test_sign_up_says_what_is_wrong(client, fields, message) -> None:
    response = _signup(client, **fields)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_an_email_has_one_account(client, services) -> None:
    make_user(services, "taken@example.org")
    response = _signup(client, email="TAKEN@example.org")
    assert response.status_code == 400
    assert "already an account" in response.get_data(as_text=True)


def test_sign_in_and_out(client, services) -> None:
    make_user(services, "me@example.org")
    wrong = sign_in(client, "me@example.org", "wrong password!")
    assert wrong.status_code == 400 and "do not match" in wrong.get_data(as_text=True)
    unknown = sign_in(client, "nobody@example.org")
    assert unknown.get_data(as_text=True) == wrong.get_data(as_text=True).replace(
        "me@example.org", "nobody@example.org"
    )
    assert sign_in(client, "ME@example.org").status_code == 302
    assert "Sign out" in client.get("/").get_data(as_text=True)
    response = client.post("/account/signout", data={"csrf_token": csrf(client)})
    assert response.status_code == 302
    assert "Sign out" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/me/notifications", "/me/notifications"),
        ("https://evil.example/", "/"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_sign_in_returns_only_to_this_site(client, services, target, expected) -> None:
    make_user(services, "me@example.org")
    response = client.post(
        "/account/signin",
        data={
            "csrf_token": csrf(client),
            "email": "me@example.org",
            "password": PASSWORD,
            "next": target,
        },
    )
    assert response.headers["Location"] == expected


def test_pages_for_members_send_strangers_to_sign_in(client) -> None:
    response = client.get("/me/notifications")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/signin?next=/me/notifications"


def test_password_change_ends_other_sessions(app, services) -> None:
    make_user(services, "me@example.org")
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, "me@example.org")
    sign_in(phone, "me@example.org")
    new = "an even better passphrase"
    bad = laptop.post(
        "/account/password",
        data={"csrf_token": csrf(laptop), "current": "nope", "new": new, "confirm": new},
    )
    assert bad.status_code == 400 and "current password" in bad.get_data(as_text=True)
    good = laptop.post(
        "/account/password",
        data={"csrf_token": csrf(laptop), "current": PASSWORD, "new": new, "confirm": new},
    )
    assert good.status_code == 302
    assert laptop.get("/me/").status_code == 200  # this session carries on
    assert phone.get("/me/").status_code == 302  # the other one is over
    assert sign_in(phone, "me@example.org").status_code == 400
    assert sign_in(phone, "me@example.org", new).status_code == 302


def test_sign_in_starts_a_new_session(client, services) -> None:
    make_user(services, "me@example.org")
    before = csrf(client)
    sign_in(client, "me@example.org")
    assert csrf(client) != before  # a token planted before sign-in is worthless after


def test_cli_creates_accounts_with_roles(config, services, monkeypatch, capsys) -> None:
    monkeypatch.setattr("core.config.Config.from_env", classmethod(lambda cls: config))
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    code = main(["user", "create", "Boss@Example.org", "--admin", "--host", "--password-stdin"])
    assert code == 0
    assert "boss@example.org (host, admin)" in capsys.readouterr().out
    with services.catalog.sessions() as session:
        user = session.scalar(select(User).where(User.email == "boss@example.org"))
    assert user.is_admin and user.is_host and user.can_host
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "create", "x@example.org", "--password-stdin"]) == 2
    assert "at least 10 characters" in capsys.readouterr().err


def test_visitors_get_no_session_cookie(client, make_space) -> None:
    space_id = make_space(state=State.SCHEDULED, host_handle="kim")
    for path in ("/", f"/spaces/{space_id}", "/hosts/kim", "/search?q=space"):
        response = client.get(path)
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers, path
    page = client.get(f"/spaces/{space_id}").get_data(as_text=True)
    assert f"/account/signin?next=/spaces/{space_id}" in page
