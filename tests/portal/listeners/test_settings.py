"""Notification settings per trigger, and one-click unsubscribe links from mail."""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from core.catalog.models import User
from core.catalog.people import TRIGGERS, choices_of, set_choice
from core.unsubscribe import read_token, unsubscribe_token, unsubscribe_url
from tests.portal.hosting.conftest import config, make_user, sign_in

__all__ = ["config", "make_user"]

#: What a form from the page sends when nothing is changed: every default.
DEFAULTS = {name: trigger.default for name, trigger in TRIGGERS.items()}


def _save(client, token: str, **changes: str):
    return client.post("/me/settings", data={"csrf_token": token, **DEFAULTS, **changes})


def _choices(services, user_id: int) -> dict[str, str]:
    with services.catalog.sessions() as session:
        return {trigger: c for (_, trigger), c in choices_of(session, [user_id]).items()}


def _digest(services, user_id: int) -> bool:
    with services.catalog.sessions() as session:
        return bool(session.scalar(select(User.mail_digest).where(User.id == user_id)))


def test_signed_out_visitors_are_sent_to_sign_in(client) -> None:
    response = client.get("/me/settings")
    assert response.status_code == 302
    assert response.headers["Location"] == "/account/signin?next=/me/settings"


def test_the_page_shows_each_trigger_with_its_default_checked(client, make_user) -> None:
    sign_in(client, make_user())
    html = client.get("/me/settings").get_data(as_text=True)
    for trigger in TRIGGERS.values():
        assert f"<legend>{trigger.label}</legend>" in html
        assert f'name="{trigger.name}" value="{trigger.default}" checked' in html
    assert html.count('value="off"') == 1  # only the optional trigger offers Off
    assert "Send mail as a daily digest instead of at once" in html
    assert 'name="mail_digest" value="yes">' in html  # not checked


def test_choices_are_saved_and_read_back(client, make_user, services) -> None:
    user = make_user()
    token = sign_in(client, user)
    response = _save(client, token, follow="email", search="both", soon="push", mail_digest="yes")
    assert response.status_code == 302 and response.headers["Location"] == "/me/settings"
    # Only what differs from the defaults is stored.
    assert _choices(services, user.id) == {"follow": "email", "search": "both", "soon": "push"}
    assert _digest(services, user.id)
    html = client.get("/me/settings").get_data(as_text=True)
    assert "Your notification settings are saved." in html
    assert 'name="follow" value="email" checked' in html
    assert 'name="search" value="both" checked' in html
    assert 'name="mail_digest" value="yes" checked' in html

    _save(client, token, follow="app", search="both", soon="push")
    assert _choices(services, user.id)["follow"] == "app"
    assert not _digest(services, user.id)


def test_only_the_optional_trigger_can_be_off(client, make_user, services) -> None:
    user = make_user()
    token = sign_in(client, user)
    assert _save(client, token, soon="push").status_code == 302
    assert _save(client, token, soon="off").status_code == 302
    assert _choices(services, user.id) == {"soon": "off"}

    response = _save(client, token, follow="off", search="app", mail_digest="yes")
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert 'id="choice-follow-error"' in html
    assert "Choose one of: in the app only, push, email, both." in html
    assert 'aria-describedby="choice-follow-error"' in html
    # Nothing is saved from a refused form, but what was chosen is kept on the page.
    assert _choices(services, user.id) == {"soon": "off"} and not _digest(services, user.id)
    assert 'name="search" value="app" checked' in html
    assert 'name="mail_digest" value="yes" checked' in html

    assert _save(client, token, decision="pigeon").status_code == 400
    form = {"csrf_token": token, "follow": "push"}  # the other triggers missing
    assert client.post("/me/settings", data=form).status_code == 400
    assert _choices(services, user.id) == {"soon": "off"}


def test_saving_needs_the_csrf_token(client, make_user, services) -> None:
    user = make_user()
    sign_in(client, user)
    assert _save(client, "forged", follow="email").status_code == 400
    assert _choices(services, user.id) == {}


def test_a_token_names_its_person_and_trigger_and_cannot_be_forged(config) -> None:
    token = unsubscribe_token(config, 7, "search")
    assert read_token(config, token) == (7, "search")
    assert unsubscribe_url(config, 7, "search") == f"{config.portal_url}/unsubscribe/{token}"

    payload, signature = token.rsplit(".", 1)
    altered = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_person = URLSafeSerializer("guess", salt="spaces.unsubscribe.v1").dumps([8, "search"])
    no_salt = URLSafeSerializer(config.secret_key).dumps([7, "search"])
    foreign_payload = URLSafeSerializer(config.secret_key).dumps([8, "search"]).split(".")[0]
    for bad in (
        f"{payload}.{altered}",
        f"{foreign_payload}.{signature}",
        other_person,
        no_salt,
        token[:-3],
        "",
        "nonsense",
    ):
        assert read_token(config, bad) is None, bad
    assert read_token(config.with_(secret_key="another key"), token) is None


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_bad_link_gives_a_clear_page(app, config, make_user, services, method) -> None:
    user = make_user()
    good = unsubscribe_token(config, user.id, "search")
    tampered = good[:-2] + ("xy" if not good.endswith("xy") else "zz")
    response = getattr(app.test_client(), method)(f"/unsubscribe/{tampered}")
    assert response.status_code == 404
    assert "This unsubscribe link is not valid" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert _choices(services, user.id) == {}

    gone = unsubscribe_token(config, user.id + 1000, "search")
    response = getattr(app.test_client(), method)(f"/unsubscribe/{gone}")
    assert response.status_code == 404
    assert "no longer exists" in response.get_data(as_text=True)


def test_the_link_asks_first_and_changes_nothing_on_get(app, config, make_user, services) -> None:
    user = make_user()
    response = app.test_client().get(f"/unsubscribe/{unsubscribe_token(config, user.id, 'search')}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Stop emails about “A saved search matches a space that goes live”?" in html
    assert "Stop these emails" in html
    assert _choices(services, user.id) == {}


def test_one_click_without_cookie_or_csrf_stops_that_triggers_email_only(
    app, config, make_user, services
) -> None:
    user = make_user()
    with services.catalog.session() as session:
        set_choice(session, user.id, "follow", "both")
    mail_client = app.test_client()  # no session cookie, no CSRF token: a mail client
    url = f"/unsubscribe/{unsubscribe_token(config, user.id, 'search')}"
    response = mail_client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert "You will get no more emails about" in response.get_data(as_text=True)
    # search was email by default: now in the app only; follow keeps push and email.
    assert _choices(services, user.id) == {"follow": "both", "search": "app"}

    # Twice is harmless.
    assert mail_client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _choices(services, user.id) == {"follow": "both", "search": "app"}
    html = mail_client.get(url).get_data(as_text=True)
    assert "They are already off" in html and "Stop these emails" not in html

    # Both push and email keeps push.
    follow = f"/unsubscribe/{unsubscribe_token(config, user.id, 'follow')}"
    assert mail_client.post(follow, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert _choices(services, user.id) == {"follow": "push", "search": "app"}


def test_the_listener_pages_link_to_the_settings(client, make_user) -> None:
    sign_in(client, make_user())
    for page in ("/me/", "/me/notifications"):
        assert 'href="/me/settings"' in client.get(page).get_data(as_text=True), page
