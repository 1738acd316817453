"""Forgotten passwords and address verification, by links mailed through a real SMTP server."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import select

from bench.peers.smtp_sink import Received, SmtpSink
from core.catalog.models import User
from core.config import Config
from portal.accounts.recovery import RESET, VERIFY, link_token
from tests.conftest import free_port
from tests.portal.accounts.helpers import PASSWORD, csrf, make_user, sign_in, token_of

NEW_PASSWORD = "a brand new passphrase"
INVALID = "This link has expired or was already used. Ask for a new one."
SENT = "If an account uses this address, we sent it a link"


@pytest.fixture
def smtp_url(sink: SmtpSink) -> str:
    return sink.url


@pytest.fixture
def config(config: Config, smtp_url: str) -> Config:
    return config.with_(smtp_url=smtp_url)


# Nothing listens there: the mail server is down.
# The id is fixed: every test process must collect the same test names, whatever port.
mail_server_down = pytest.mark.parametrize(
    "smtp_url", [f"smtp://127.0.0.1:{free_port()}"], ids=["mail-server-down"]
)


def _link(mail: Received, kind: str) -> str:
    """Return the path of the portal link of `kind` ("reset", "verify") in a mail."""
    found = re.search(rf"http://portal\.test(/account/{kind}/\S+)", mail.text)
    assert found, f"no {kind} link in:\n{mail.text}"
    return found.group(1)


def _ask_reset(client, email: str):
    form = client.get("/account/forgot")
    return client.post("/account/forgot", data={"csrf_token": token_of(form), "email": email})


def _set_password(client, path: str, new: str, confirm: str | None = None):
    form = client.get(path)
    assert form.status_code == 200, form.get_data(as_text=True)
    data = {
        "csrf_token": token_of(form),
        "new": new,
        "confirm": new if confirm is None else confirm,
    }
    return client.post(path, data=data)


def test_a_forgotten_password_is_reset_by_the_mailed_link(app, client, services, sink) -> None:
    make_user(services, "ann@example.org")
    signin = client.get("/account/signin").get_data(as_text=True)
    assert 'href="/account/forgot">Forgot password?</a>' in signin

    answer = _ask_reset(client, "Ann@Example.org")
    assert answer.status_code == 200 and SENT in answer.get_data(as_text=True)
    [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ("ann@example.org",)
    assert "List-Unsubscribe" not in mail.message
    path = _link(mail, "reset")

    refused = _set_password(client, path, NEW_PASSWORD, "something else entirely")
    assert refused.status_code == 400
    assert "The two passwords differ" in refused.get_data(as_text=True)
    short = _set_password(client, path, "short")
    assert "at least 10 characters" in short.get_data(as_text=True)

    done = _set_password(client, path, NEW_PASSWORD)
    assert done.status_code == 302 and done.location.endswith("/account/signin")
    assert sign_in(client, "ann@example.org").status_code == 400  # the old one is gone
    assert sign_in(client, "ann@example.org", NEW_PASSWORD).status_code == 302
    assert client.get("/account/settings").status_code == 200

    again = client.get(path)
    assert again.status_code == 400 and INVALID in again.get_data(as_text=True)
    assert 'href="/account/forgot"' in again.get_data(as_text=True)
    with services.catalog.sessions() as db:
        user = db.scalars(select(User).where(User.email == "ann@example.org")).one()
        assert user.email_verified_at is not None  # the mail reached its owner


def test_a_reset_signs_out_every_other_device(app, client, services, sink) -> None:
    make_user(services, "ann@example.org")
    elsewhere = app.test_client()
    assert sign_in(elsewhere, "ann@example.org").status_code == 302
    assert elsewhere.get("/account/settings").status_code == 200

    _ask_reset(client, "ann@example.org")
    [mail] = sink.wait_for(1)
    assert _set_password(client, _link(mail, "reset"), NEW_PASSWORD).status_code == 302

    locked_out = elsewhere.get("/account/settings")
    assert locked_out.status_code == 302 and "/account/signin" in locked_out.location


def test_expired_and_tampered_links_are_refused(app, client, services, config) -> None:
    uid = make_user(services, "ann@example.org")
    with services.catalog.sessions() as db:
        user = db.get(User, uid)
    old = link_token(config, user, RESET, now=time.time() - 31 * 60)
    fresh = link_token(config, user, RESET)
    for token in (old, fresh[:-3] + "xyz", "not-a-token"):
        page = client.get(f"/account/reset/{token}")
        assert page.status_code == 400 and INVALID in page.get_data(as_text=True)
        refused = client.post(
            f"/account/reset/{token}",
            data={"csrf_token": csrf(client), "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert refused.status_code == 400
    assert sign_in(client, "ann@example.org", PASSWORD).status_code == 302
    # A link signed for verifying an address cannot reset a password.
    assert client.get(f"/account/reset/{link_token(config, user, VERIFY)}").status_code == 400
    assert client.get(f"/account/reset/{fresh}").status_code == 200


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, services, sink) -> None:
    make_user(services, "ann@example.org")
    unknown = _ask_reset(client, "nobody@example.org")
    time.sleep(0.2)
    assert sink.messages == []
    known = _ask_reset(client, "ann@example.org")
    assert len(sink.wait_for(1)) == 1
    assert (unknown.status_code, unknown.get_data()) == (known.status_code, known.get_data())
    bad = _ask_reset(client, "not an address")
    assert bad.status_code == 400 and "Enter an email address" in bad.get_data(as_text=True)


def test_reset_requests_are_rate_limited_per_address(client, services, sink) -> None:
    make_user(services, "ann@example.org")
    codes = [_ask_reset(client, "ann@example.org").status_code for _ in range(6)]
    assert codes == [200] * 5 + [429]
    assert len(sink.wait_for(5)) == 5


@mail_server_down
def test_a_mail_server_down_is_said_and_not_hidden(client, services) -> None:
    make_user(services, "ann@example.org")
    answer = _ask_reset(client, "ann@example.org")
    assert answer.status_code == 503
    text = answer.get_data(as_text=True)
    assert "We could not send the mail just now. Try again in a few minutes." in text
    assert 'value="ann@example.org"' in text


def _sign_up(client, email: str):
    form = client.get("/account/signup")
    data = {
        "csrf_token": token_of(form),
        "display_name": "Bo",
        "email": email,
        "password": PASSWORD,
        "confirm": PASSWORD,
    }
    return client.post("/account/signup", data=data)


def test_sign_up_mails_a_link_that_verifies_the_address(client, services, sink) -> None:
    assert _sign_up(client, "bo@example.org").status_code == 302
    [mail] = sink.wait_for(1)
    assert mail.rcpt_tos == ("bo@example.org",)
    settings = client.get("/account/settings").get_data(as_text=True)
    assert "We sent a link to bo@example.org" in settings
    assert "Your address is not verified yet." in settings

    resent = client.post("/account/verify/resend", data={"csrf_token": csrf(client)})
    assert resent.status_code == 302
    first, second = sink.wait_for(2)
    path = _link(second, "verify")
    verified = client.get(path)
    assert verified.status_code == 302
    settings = client.get("/account/settings").get_data(as_text=True)
    assert "bo@example.org is verified" in settings
    assert "not verified yet" not in settings
    # Both links are spent now: the address is no longer waiting to be verified.
    assert INVALID in client.get(_link(first, "verify")).get_data(as_text=True)
    assert client.get(path).status_code == 400


@mail_server_down
def test_sign_up_succeeds_when_the_mail_cannot_go(client, services) -> None:
    assert _sign_up(client, "bo@example.org").status_code == 302
    settings = client.get("/account/settings").get_data(as_text=True)
    assert "We could not send the mail that confirms your address just now" in settings
    assert "Send the link again" in settings
