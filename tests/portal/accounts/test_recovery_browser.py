"""A person who forgot their password gets a new one in Chromium, by the link mailed to them."""

from __future__ import annotations

import re

import pytest

from bench.peers.smtp_sink import SmtpSink
from core.config import Config
from tests.browser import launch_chromium, serve
from tests.portal.accounts.helpers import make_user

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
def config(config: Config, sink: SmtpSink) -> Config:
    return config.with_(smtp_url=sink.url)


def test_forgot_password_by_mail_then_sign_in(app, services, sink) -> None:
    make_user(services, "ann@example.org")
    with serve(app) as base, launch_chromium() as browser:
        page = browser.new_page()
        problems: list[str] = []
        page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(base + "/account/signin")
        page.get_by_role("link", name="Forgot password?").click()
        page.wait_for_url(base + "/account/forgot")
        page.get_by_label("Email").fill("ann@example.org")
        page.get_by_role("button", name="Send me a link").click()
        page.get_by_text("If an account uses this address, we sent it a link").wait_for()

        [mail] = sink.wait_for(1)
        link = re.search(r"http://portal\.test(/account/reset/\S+)", mail.text)
        assert link, mail.text
        # The mail names the public address; this portal is served on a loopback port.
        page.goto(base + link.group(1))
        page.get_by_label("New password (at least 10 characters)", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("New password again", exact=True).fill(NEW_PASSWORD)
        page.get_by_role("button", name="Set new password").click()
        page.wait_for_url(base + "/account/signin")
        assert "Sign in with it now" in page.locator(".flash").inner_text()

        page.get_by_label("Email").fill("ann@example.org")
        page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        assert page.get_by_role("button", name="Sign out").is_visible()
        assert problems == []
