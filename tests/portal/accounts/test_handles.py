"""Handles: chosen at sign-up or in the settings, unique, checked, and what people see."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.catalog.models import User
from portal.accounts.handles import HandleError, check_handle, suggest_handle
from portal.accounts.users import AccountError, create_user
from tests.portal.accounts.helpers import PASSWORD, make_user, sign_in, token_of


def _signup(client, **fields: str):
    page = client.get("/account/signup")
    data = {
        "csrf_token": token_of(page),
        "email": "new@example.org",
        "password": PASSWORD,
        "confirm": PASSWORD,
        **fields,
    }
    return client.post("/account/signup", data=data)


def _user(services, email: str) -> User:
    with services.catalog.sessions() as session:
        user = session.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


@pytest.mark.parametrize(
    ("text", "stored"),
    [("ann_lee", "ann_lee"), ("@Ann_Lee", "ann_lee"), ("  bob42 ", "bob42"), ("a" * 30, "a" * 30)],
)
def test_good_handles_are_stored_lowercased(text: str, stored: str) -> None:
    assert check_handle(text) == stored


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Choose a handle"),
        ("ab", "3 to 30 characters"),
        ("a" * 31, "3 to 30 characters"),
        ("ann lee", "letters a-z"),
        ("ann-lee", "letters a-z"),
        ("zoë", "letters a-z"),
        ("<script>", "letters a-z"),
        ("admin", "reserved"),
        ("API", "reserved"),
        ("static", "reserved"),
    ],
)
def test_bad_handles_say_what_to_choose(text: str, message: str) -> None:
    with pytest.raises(HandleError, match=message):
        check_handle(text)


def test_suggestions_come_from_the_name_then_the_address() -> None:
    assert suggest_handle("Ann Lee-Smith") == "ann_lee_smith"
    assert suggest_handle("Zoë!", "zoe.k") == "zoe_k"  # "zo" is too short
    assert suggest_handle("Jo", "j") == "jo_user"
    assert suggest_handle("", "admin") == "listener"
    assert len(suggest_handle("x" * 80)) <= 26


def test_accounts_without_a_chosen_handle_get_a_free_one(services) -> None:
    with services.catalog.session() as session:
        first = create_user(session, "a@example.org", PASSWORD, display_name="Ann Lee")
        second = create_user(session, "b@example.org", PASSWORD, display_name="Ann Lee")
        third = create_user(session, "ann.lee@example.org", PASSWORD)
        handles = (first.handle, second.handle, third.handle)
    assert handles == ("ann_lee", "ann_lee_2", "ann_lee_3")


def test_handles_are_unique_whatever_the_case(services) -> None:
    with services.catalog.session() as session:
        create_user(session, "a@example.org", PASSWORD, handle="ann")
    with services.catalog.session() as session, pytest.raises(AccountError, match="taken"):
        create_user(session, "b@example.org", PASSWORD, handle="ANN")


def test_sign_up_with_a_chosen_handle(client, services) -> None:
    response = _signup(client, display_name="Nia N", handle="@Nia_Sings")
    assert response.status_code == 302
    assert _user(services, "new@example.org").handle == "nia_sings"
    follow = client.get("/").get_data(as_text=True)
    assert "@nia_sings" in follow


def test_sign_up_without_a_handle_takes_one_from_the_name(client, services) -> None:
    assert _signup(client, display_name="Nia N").status_code == 302
    assert _user(services, "new@example.org").handle == "nia_n"


def test_the_sign_up_page_offers_the_handle_field(client) -> None:
    html = client.get("/account/signup").get_data(as_text=True)
    assert '<label for="handle">Handle' in html and 'data-suggest-from="display_name"' in html


def test_a_taken_handle_is_refused_beside_the_field_keeping_the_input(client, services) -> None:
    with services.catalog.session() as session:
        create_user(session, "first@example.org", PASSWORD, handle="nia")
    response = _signup(client, display_name="Nia <b>N</b>", handle="NIA")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p id="handle-error" class="field-error">@nia is taken.' in html
    assert 'aria-invalid="true" aria-describedby="handle-error" autofocus' in html
    assert 'value="NIA"' in html and 'value="new@example.org"' in html
    assert "Nia &lt;b&gt;N&lt;/b&gt;" in html and "<b>N</b>" not in html


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"email": "nope"}, "email", "Enter an email address"),
        ({"password": "short", "confirm": "short"}, "password", "at least 10"),
        ({"confirm": "something else"}, "confirm", "two passwords differ"),
        ({"handle": "admin"}, "handle", "reserved"),
        ({"display_name": "x" * 101}, "display_name", "under 100"),
    ],
)
def test_sign_up_errors_sit_beside_their_field(client, fields, field, message) -> None:
    html = _signup(client, **fields).get_data(as_text=True)
    assert f'<p id="{field}-error" class="field-error">' in html and message in html
    assert f'id="{field}"' in html
    assert html.count("autofocus") == 1


def test_sign_in_error_sits_beside_the_password_keeping_the_email(client, services) -> None:
    make_user(services, "me@example.org")
    html = sign_in(client, "me@example.org", "wrong password!").get_data(as_text=True)
    assert '<p id="password-error" class="field-error">' in html
    assert 'value="me@example.org"' in html and "autofocus" in html


def _settings(client, **fields: str):
    page = client.get("/account/settings")
    return client.post("/account/settings", data={"csrf_token": token_of(page), **fields})


def test_settings_change_the_name_and_handle(client, services) -> None:
    make_user(services, "me@example.org")
    sign_in(client, "me@example.org")
    page = client.get("/account/settings").get_data(as_text=True)
    assert 'name="handle"' in page and 'value="me_user"' in page  # the handle it was given
    response = _settings(client, display_name="Mo Re", handle="Mo_Re")
    assert response.status_code == 302
    user = _user(services, "me@example.org")
    assert (user.display_name, user.handle) == ("Mo Re", "mo_re")
    assert "You are @mo_re now." in client.get("/account/settings").get_data(as_text=True)
    # Still signed in: a handle change is no password change.
    assert client.get("/account/settings").status_code == 200


def test_settings_refuse_a_taken_handle_beside_the_field(client, services) -> None:
    make_user(services, "other@example.org")
    make_user(services, "me@example.org")
    sign_in(client, "me@example.org")
    response = _settings(client, display_name="Me", handle="Other")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert '<p id="handle-error" class="field-error">@other is taken.' in html
    assert 'value="Other"' in html and "autofocus" in html
    assert _user(services, "me@example.org").handle == "me_user"


def test_settings_need_an_account(client) -> None:
    assert client.get("/account/settings").status_code == 302
