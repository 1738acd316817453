"""Two-factor sign-in: set up with an authenticator's code, then sign in with a code."""

from __future__ import annotations

import html
import re
import time

import pyotp

from tests.portal.accounts.helpers import PASSWORD, csrf, make_user, sign_in, token_of

WRONG = "That code is not right."
REUSED = "That code was just used."


def _codes_on(page) -> list[str]:
    return re.findall(
        r"<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>", page.get_data(as_text=True)
    )


def _enable(client) -> tuple[pyotp.TOTP, list[str]]:
    """Turn two-factor on through the page; return the app's generator and the codes shown."""
    page = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code id="totp-secret">([A-Z2-7 ]+)</code>', page)
    uri = re.search(r'<code id="totp-uri">([^<]+)</code>', page)
    assert secret and uri, page
    totp = pyotp.TOTP(secret.group(1).replace(" ", ""))
    assert html.unescape(uri.group(1)) == totp.provisioning_uri(
        name="ann@example.org", issuer_name="Spaces"
    )
    wrong = client.post("/account/two-factor", data={"csrf_token": csrf(client), "code": "000000"})
    assert wrong.status_code == 400 and WRONG in wrong.get_data(as_text=True)
    done = client.post("/account/two-factor", data={"csrf_token": csrf(client), "code": totp.now()})
    assert done.status_code == 200
    codes = _codes_on(done)
    assert len(codes) == 10 and len(set(codes)) == 10
    return totp, codes


def _code_step(client, code: str):
    page = client.get("/account/two-factor/verify")
    assert page.status_code == 200, page.location
    return client.post(
        "/account/two-factor/verify", data={"csrf_token": token_of(page), "code": code}
    )


def _signed_in(client) -> bool:
    return client.get("/account/settings").status_code == 200


def test_sign_in_needs_a_code_once_two_factor_is_on(app, client, services) -> None:
    make_user(services, "ann@example.org")
    sign_in(client, "ann@example.org")
    totp, codes = _enable(client)
    assert "Two-factor sign-in (on)" in client.get("/account/settings").get_data(as_text=True)
    client.post("/account/signout", data={"csrf_token": csrf(client)})

    asked = client.post(
        "/account/signin",
        data={
            "csrf_token": csrf(client),
            "email": "ann@example.org",
            "password": PASSWORD,
            "next": "/account/password",
        },
    )
    assert asked.status_code == 302 and asked.location.endswith("/account/two-factor/verify")
    assert not _signed_in(client)  # the password alone is not enough
    wrong = _code_step(client, "123456" if totp.now() != "123456" else "654321")
    assert wrong.status_code == 400
    assert f'id="code-error" class="field-error">{WRONG}' in wrong.get_data(as_text=True)
    assert not _signed_in(client)

    # The next step's code: the one used to turn two-factor on cannot serve again.
    code = totp.at(time.time() + 30)
    right = _code_step(client, code)
    assert right.status_code == 302 and right.location.endswith("/account/password")
    assert _signed_in(client)

    # The same code, replayed from another device, is refused.
    other = app.test_client()
    sign_in(other, "ann@example.org")
    replayed = _code_step(other, code)
    assert replayed.status_code == 400 and REUSED in replayed.get_data(as_text=True)
    assert not _signed_in(other)

    # A recovery code signs in once; the second time it is refused.
    assert _code_step(other, codes[0].upper().replace("-", " ")).status_code == 302
    assert _signed_in(other)
    third = app.test_client()
    sign_in(third, "ann@example.org")
    assert _code_step(third, codes[0]).status_code == 400
    assert not _signed_in(third)
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "You have 9 unused recovery codes." in page


def test_the_code_step_needs_a_password_first(client, services) -> None:
    answer = client.get("/account/two-factor/verify")
    assert answer.status_code == 302 and answer.location.endswith("/account/signin")


def test_wrong_codes_are_rate_limited(client, services) -> None:
    make_user(services, "ann@example.org")
    sign_in(client, "ann@example.org")
    totp, _ = _enable(client)
    client.post("/account/signout", data={"csrf_token": csrf(client)})
    sign_in(client, "ann@example.org")
    wrong = "000000" if totp.now() != "000000" else "111111"
    statuses = [_code_step(client, wrong).status_code for _ in range(11)]
    assert statuses == [400] * 10 + [429]


def test_turning_two_factor_off_needs_the_password_and_a_code(app, client, services) -> None:
    make_user(services, "ann@example.org")
    sign_in(client, "ann@example.org")
    totp, _ = _enable(client)

    def turn_off(password: str, code: str):
        data = {"csrf_token": csrf(client), "password": password, "code": code}
        return client.post("/account/two-factor/off", data=data)

    no_password = turn_off("not my password", totp.at(time.time() + 30))
    assert no_password.status_code == 400
    assert "Your password was not right." in no_password.get_data(as_text=True)
    assert turn_off(PASSWORD, "000000" if totp.now() != "000000" else "1111111").status_code == 400
    assert turn_off(PASSWORD, totp.at(time.time() + 30)).status_code == 302

    other = app.test_client()
    assert sign_in(other, "ann@example.org").location.endswith("/")
    assert _signed_in(other)


def test_new_recovery_codes_replace_the_old_ones(app, client, services) -> None:
    make_user(services, "ann@example.org")
    sign_in(client, "ann@example.org")
    _, old = _enable(client)
    page = client.post(
        "/account/two-factor/codes", data={"csrf_token": csrf(client), "password": PASSWORD}
    )
    new = _codes_on(page)
    assert len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    sign_in(other, "ann@example.org")
    assert _code_step(other, old[0]).status_code == 400
    assert _code_step(other, new[0]).status_code == 302


def test_admins_without_two_factor_are_urged_to_set_it_up(client, services) -> None:
    make_user(services, "ann@example.org", admin=True)
    sign_in(client, "ann@example.org")
    notice = "Set up two-factor sign-in</a>"
    assert notice in client.get("/admin/").get_data(as_text=True)
    setup = client.get("/account/two-factor").get_data(as_text=True)
    assert "As an admin, please turn it on" in setup
    _enable(client)
    assert notice not in client.get("/admin/").get_data(as_text=True)
