"""A person signs up in Chromium choosing a handle; a taken one is refused beside the field."""

from __future__ import annotations

import pytest

from portal.accounts.users import create_user
from tests.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    horizontal_overflow,
    launch_chromium,
    serve,
)
from tests.portal.accounts.helpers import PASSWORD

pytestmark = pytest.mark.browser


def _focused(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"]


def test_sign_up_choosing_a_handle(app, services) -> None:
    with services.catalog.session() as session:
        create_user(session, "first@example.org", PASSWORD, handle="nia")
    with serve(app) as base, launch_chromium() as browser:
        page = browser.new_page(viewport=PHONE)
        problems: list[str] = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        # The refused form answers 400 on purpose; any other console error is a problem.
        page.on(
            "console",
            lambda msg: (
                problems.append(msg.text)
                if msg.type == "error" and "status of 400" not in msg.text
                else None
            ),
        )
        page.goto(base + "/account/signup")
        page.get_by_label("Your name").press_sequentially("Nia Sings")
        handle = page.get_by_label("Handle")
        assert handle.input_value() == "nia_sings", "the handle is suggested from the name"
        handle.fill("NIA")
        page.get_by_label("Email").fill("nia@example.org")
        page.get_by_label("Password", exact=False).first.fill("a long passphrase")
        page.get_by_label("Password again").fill("a long passphrase")
        with page.expect_navigation():
            page.get_by_role("button", name="Create account").click()

        error = page.locator("#handle-error")
        assert "@nia is taken" in error.inner_text()
        assert handle.get_attribute("aria-describedby") == "handle-error"
        assert handle.get_attribute("aria-invalid") == "true"
        assert handle.input_value() == "NIA", "what was typed is kept"
        assert page.get_by_label("Your name").input_value() == "Nia Sings"
        assert page.get_by_label("Email").input_value() == "nia@example.org"
        assert _focused(page) == "handle" and _in_view(page, "#handle-error")
        assert horizontal_overflow(page) == 0
        assert axe_violations(page) == []

        handle.fill("nia_sings")
        page.get_by_label("Password", exact=False).first.fill("a long passphrase")
        page.get_by_label("Password again").fill("a long passphrase")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(base + "/")
        assert "Welcome, @nia_sings!" in page.locator(".flash").inner_text()
        assert problems == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_account_pages_fit_a_phone_and_pass_axe(app, services, scheme: str) -> None:
    with services.catalog.session() as session:
        create_user(session, "me@example.org", PASSWORD, display_name="Me Myself")
    with serve(app) as base, launch_chromium() as browser:
        for viewport in (PHONE, DESKTOP):
            page = browser.new_page(viewport=viewport, color_scheme=scheme)
            for path in ("/account/signup", "/account/signin"):
                page.goto(base + path)
                assert horizontal_overflow(page) == 0, path
                assert axe_violations(page) == [], path
            page.get_by_label("Email").fill("me@example.org")
            page.get_by_label("Password").fill("wrong password here")
            with page.expect_navigation():
                page.get_by_role("button", name="Sign in").click()
            assert _focused(page) == "password" and _in_view(page, "#password-error")
            assert page.get_by_label("Email").input_value() == "me@example.org"
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(base + "/")
            for path in ("/account/settings", "/account/password"):
                page.goto(base + path)
                assert horizontal_overflow(page) == 0, path
                assert axe_violations(page) == [], path
            page.close()
