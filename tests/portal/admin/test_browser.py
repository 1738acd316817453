"""Admins in a real Chromium: hide a space, filter the list, ban a host through the
confirmation, read the audit log; every admin page fits a phone and passes axe-core."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from core.catalog.models import HostClaim, Report, Space, Submission
from core.catalog.sources import add_source
from tests.browser import (
    DESKTOP,
    PHONE,
    axe_violations,
    browser,
    chromium,
    horizontal_overflow,
    save_screenshot,
)
from tests.portal.hosting.conftest import base_url, browser_sign_in

__all__ = ["base_url", "browser", "chromium"]

pytestmark = pytest.mark.browser

REASON = "Reason (shown in the audit log)"


def _until(check: Callable[[], Any], what: str, timeout: float = 10) -> Any:
    """Poll `check` from Python (the CSP forbids wait_for_function's eval) until truthy."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)
    return value


def _api_ids(page, base_url: str, q: str) -> list[int]:
    return sorted(
        i["id"] for i in page.request.get(f"{base_url}/api/v1/spaces?q={q}").json()["items"]
    )


def test_admin_hides_a_space_and_it_is_gone_everywhere(
    base_url,
    make_user,
    make_space,
    now,
    browser,
) -> None:
    space = make_space(title="Quokka hour", topics=["quokkas"], checked=now)
    admin = make_user(is_admin=True)
    page = browser.new_page()
    assert _api_ids(page, base_url, "quokka") == [space]
    browser_sign_in(page, base_url, admin, "/admin/spaces?q=Quokka")
    card = page.locator(f"#card-{space}")
    card.get_by_label(REASON).fill("spam, reported twice")
    card.get_by_role("button", name="Hide space").click()
    page.locator("#confirm-dialog").get_by_role("button", name="Hide space").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    _until(lambda: "Done:" in (page.locator(".flash").first.text_content() or ""), "flash")
    assert _api_ids(page, base_url, "quokka") == []
    page.goto(f"{base_url}/search?q=quokka")
    assert "Quokka hour" not in page.content()
    for feed in ("/feeds/live.atom", "/feeds/topics/quokkas.atom"):
        assert "Quokka" not in page.request.get(base_url + feed).text()
    page.goto(f"{base_url}/admin/audit")
    assert "spam, reported twice" in page.locator(".sentence").first.inner_text()


def test_admin_filters_then_bans_a_host_after_cancelling_once(
    base_url,
    make_user,
    make_space,
    now,
    browser,
) -> None:
    bob_live = make_space(title="Bob talks", host_handle="bob", host_name="Bob Stone", checked=now)
    bob_ended = make_space(
        title="Bob talked", host_handle="bob", host_name="Bob Stone", state="ended"
    )
    other = make_space(title="Carol talks", host_handle="carol", checked=now)
    admin = make_user(is_admin=True, display_name="Ada", email="ada@example.org")
    page = browser.new_page(viewport=PHONE)
    browser_sign_in(page, base_url, admin, "/admin/spaces")
    page.get_by_label("Host").fill("bob")
    page.get_by_label("State").select_option("live")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/admin/spaces?*host=bob*")
    assert "state=live" in page.url
    _until(lambda: page.locator("#results-count").inner_text().startswith("1 space"), "filter")
    assert page.locator(".space-card").count() == 1
    card = page.locator(f"#card-{bob_live}")
    card.get_by_label(REASON).fill("spam")
    ban = card.get_by_role("button", name="Ban host @bob")
    dialog = page.locator("#confirm-dialog")

    # First time: the dialog says what will happen; Enter on its focused Cancel closes it.
    ban.click()
    _until(dialog.is_visible, "the confirmation dialog")
    assert dialog.get_by_role("heading").inner_text() == "Ban host @bob?"
    assert "(2 spaces now)" in dialog.inner_text() and "spam" in dialog.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Cancel"
    page.keyboard.press("Enter")
    _until(lambda: not dialog.is_visible(), "the dialog closing")
    assert page.evaluate("document.activeElement.textContent") == "Ban host @bob"
    assert _api_ids(page, base_url, "talk") == sorted([bob_live, bob_ended, other])

    # Second time: confirm.
    ban.click()
    _until(dialog.is_visible, "the confirmation dialog again")
    save_screenshot(page, "admin confirm dialog")
    dialog.get_by_role("button", name="Ban host").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    flash = _until(lambda: page.locator(".flash").first.text_content(), "the flash")
    assert "Done: Ada banned host @bob: spam" in flash
    assert _api_ids(page, base_url, "talk") == [other]

    page.goto(f"{base_url}/admin/audit")
    sentences = page.locator(".sentence").all_inner_texts()
    assert sentences == ["Ada banned host @bob (Bob Stone): spam"]
    assert page.get_by_role("link", name="@bob").get_attribute("href") == "/hosts/bob"
    assert "Banned: no → yes" in page.locator(".changes").inner_text()
    assert page.locator(".audit-entry time").get_attribute("datetime")


def test_without_scripts_the_server_asks_before_a_ban(
    base_url, make_user, make_space, browser
) -> None:
    space = make_space(title="Dana talks", host_handle="dana")
    admin = make_user(is_admin=True, display_name="Ada")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    browser_sign_in(page, base_url, admin, "/admin/spaces?host=dana")
    card = page.locator(f"#card-{space}")
    card.get_by_label(REASON).fill("impersonation")
    card.get_by_role("button", name="Ban host @dana").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    assert page.get_by_role("heading", name="Ban host @dana?").is_visible()
    assert page.get_by_label(REASON).input_value() == "impersonation"
    page.get_by_role("link", name="Cancel").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    assert _api_ids(page, base_url, "dana") == [space]
    card.get_by_label(REASON).fill("impersonation")
    card.get_by_role("button", name="Ban host @dana").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    page.get_by_role("button", name="Ban host").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    assert _api_ids(page, base_url, "dana") == []
    context.close()


def _fill_every_page(services, make_user, make_space, now) -> None:
    """Give each admin page something to show: queue items, a source, picks, a log."""
    claimant = make_user(display_name="Claire")
    space = make_space(title="A rather long title for a space that wraps on phones", checked=now)
    make_space(title="Reported one", host_handle="erin", shared_on=("https://fresh.example/p",))
    with services.catalog.session() as session:
        session.add(Submission(user_id=claimant.id, url="https://fresh.example/s/very/long/path/1"))
        session.add(Report(space_id=space, reason="spam", detail="Keeps posting links"))
        add_source(session, "https://feeds.example/a/rather/long/feed/address.xml", kind="feed")
    with services.catalog.session() as session:
        found = session.get(Space, space)
        assert found is not None and found.host_id is not None
        session.add(HostClaim(user_id=claimant.id, host_id=found.host_id, message="It is me"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_admin_pages_fit_phones_and_pass_axe(
    base_url,
    services,
    make_user,
    make_space,
    now,
    scheme,
    browser,
) -> None:
    _fill_every_page(services, make_user, make_space, now)
    admin = make_user(is_admin=True, display_name="Ada")
    paths = ["/admin/", "/admin/spaces", "/admin/audit", "/admin/sources", "/admin/operations"]
    paths.append("/admin/picks")
    page = browser.new_page(viewport=DESKTOP, color_scheme=scheme)
    browser_sign_in(page, base_url, admin, "/admin/picks")
    page.get_by_label("Name").fill("Weekend listening")
    page.get_by_label(REASON).fill("for the weekend")
    page.get_by_role("button", name="Create collection").click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    page.goto(f"{base_url}/admin/spaces?q=Reported")
    page.get_by_label(REASON).first.fill("too loud")
    page.get_by_role("button", name="Feature").first.click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    page.get_by_text("Add to editor's picks").first.click()
    page.get_by_label("Why pick it (shown in the audit log)").first.fill("a good one")
    page.get_by_role("button", name="Add to collection").first.click()
    page.locator("html[aria-busy]").wait_for(state="detached")
    _until(lambda: "Done:" in (page.locator(".flash").first.text_content() or ""), "pick")
    problems = []
    for viewport in (PHONE, DESKTOP):
        page.set_viewport_size(viewport)
        for path in [*paths, "/admin/spaces?state=sleeping"]:
            page.goto(base_url + path)
            save_screenshot(page, f"{path} {scheme}")
            if overflow := horizontal_overflow(page):
                problems.append(f"{path} at {viewport['width']} px: {overflow} px sideways")
            problems += [f"{path} at {viewport['width']} px: {v}" for v in axe_violations(page)]
        # The dialog, open, is checked too.
        page.goto(f"{base_url}/admin/spaces?q=Reported")
        page.get_by_label(REASON).first.fill("spam")
        page.get_by_role("button", name="Hide space").first.click()
        _until(page.locator("#confirm-dialog").is_visible, "the dialog")
        save_screenshot(page, f"admin dialog {scheme}", full_page=False)
        problems += [f"dialog at {viewport['width']} px: {v}" for v in axe_violations(page)]
        # Without the dialog (as without scripts) the server's confirmation page asks.
        page.keyboard.press("Escape")
        page.evaluate("document.getElementById('confirm-dialog').remove()")
        page.get_by_role("button", name="Hide space").first.click()
        page.locator("html[aria-busy]").wait_for(state="detached")
        _until(lambda: page.get_by_role("heading", name="Hide “Reported one”?").count(), "ask")
        save_screenshot(page, f"admin confirm page {scheme}")
        if overflow := horizontal_overflow(page):
            problems.append(f"confirm page at {viewport['width']} px: {overflow} px sideways")
        problems += [f"confirm at {viewport['width']} px: {v}" for v in axe_violations(page)]
    assert problems == []
