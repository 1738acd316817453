"""Hostile crawled text, rendered by every page of the real templates, stays inert in Chromium."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from core.catalog import follows, reminders
from core.catalog import saved_searches as searches
from core.catalog.models import Space, User
from core.catalog.records import Observation
from core.catalog.spaces import record_observation
from core.catalog.states import State
from portal.listeners.reports import file_report
from tests.browser import launch_chromium, serve
from tests.portal.accounts.helpers import PASSWORD, make_user, sign_in
from tests.portal.security.routes import routes

pytestmark = pytest.mark.browser

# Each payload marks what it would inject with data-xss, so the DOM check is exact.
PAYLOADS = [
    "<script>window.__xss=1;alert(1)</script>",
    '"><img data-xss src=x onerror=alert(2)>',
    "'><svg data-xss onload=alert(3)>",
    '</textarea><iframe data-xss srcdoc="<script>alert(4)</script>"></iframe>',
    '<a data-xss href="javascript:alert(5)">click</a>',
    "</title><b data-xss>t</b>",
    '<noscript><p title="</noscript><img data-xss src=x onerror=alert(6)>">',
    "<math><mtext><table><mglyph><style><img data-xss src=x onerror=alert(7)>",
    "<style data-xss>body{display:none}</style>",
    '<form data-xss action="javascript:alert(8)"><button>go</button></form>',
    "{{ 7*7 }} ${7*7} {% raw %}",
]
EVIL = " ".join(PAYLOADS)
EVIL_HANDLE = '"><img data-xss src=x>'
EVIL_TOPIC = "<b data-xss>jazz</b>"


@pytest.fixture
def planted(services, make_space, now) -> dict[str, object]:
    """Spaces, hosts, alerts, notifications and a report, all carrying the payloads."""
    live = make_space(
        title="Jazz " + PAYLOADS[0],
        description=EVIL,
        host_handle="ella",
        host_name="Ella " + PAYLOADS[1],
        host_url="javascript://ella.test/%0Aalert(9)",
        topics=[EVIL_TOPIC, PAYLOADS[2]],
        lang="en",
        state=State.SCHEDULED,
        shared_on=("javascript:alert(10)", "http://blog.test/" + quote(PAYLOADS[1])),
    )
    make_space(
        title=PAYLOADS[3],
        description=PAYLOADS[6],
        host_handle=EVIL_HANDLE,
        host_name=PAYLOADS[7],
        topics=[EVIL_TOPIC],
        state=State.SCHEDULED,
        scheduled_start=now,
    )
    make_user(services, "boss@example.org", host=True, admin=True)
    with services.catalog.session() as session:
        user = session.scalar(select(User))
        assert user is not None
        follows.follow(session, user.id, "ella")
        reminders.remind(session, user.id, live)
        searches.save_search(session, user.id, "jazz " + PAYLOADS[4], topic=EVIL_TOPIC)
        file_report(session, live, user.id, "other", EVIL)
    with services.catalog.session() as session:
        space = session.get(Space, live)
        record_observation(session, space, Observation(state=State.LIVE), now=now)
    return {"space_id": live, "handle": "ella", "topic": EVIL_TOPIC}


def _pages(app, planted) -> list[str]:
    """Return every HTML page the app serves, with the planted data in its arguments."""
    paths = {f"/search?q={quote(PAYLOADS[1])}", f"/hosts/{quote(EVIL_HANDLE)}"}
    client = app.test_client()
    for route in routes(app):
        if route.method != "GET" or route.path.startswith("/api/"):
            continue
        path = route.path
        if "<int:space_id>" in route.rule:
            path = path.replace("/1", f"/{planted['space_id']}", 1)
        path = path.replace("/hosts/x", "/hosts/ella").replace("/topics/x", "/topics/jazz")
        paths.add(path)
    paths.add(f"/topics/{quote(EVIL_TOPIC)}")
    sign_in(client, "boss@example.org")
    html = []
    for path in sorted(paths):
        response = client.get(path)
        if response.status_code == 200 and response.mimetype == "text/html":
            html.append(path)
    return html


def test_payloads_stay_inert_in_chromium(app, planted) -> None:
    with serve(app) as base, launch_chromium() as browser:
        page = browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(base + "/account/signin")
        page.get_by_label("Email").fill("boss@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(base + "/")
        checked = []
        for path in _pages(app, planted):
            response = page.goto(base + path)
            assert response is not None and response.status == 200, path
            checked.append(path)
            injected = page.evaluate(
                "() => [document.querySelectorAll('[data-xss]').length, typeof window.__xss]"
            )
            assert injected == [0, "undefined"], path
            hrefs = page.evaluate(
                "() => [...document.querySelectorAll('[href],[src],[action],[srcdoc]')]"
                ".map(el => el.getAttribute('href') || el.getAttribute('src')"
                " || el.getAttribute('action') || '')"
                ".filter(v => /^\\s*javascript:/i.test(v))"
            )
            assert hrefs == [], path
        assert dialogs == []
        must_see = ["/", "/me/", "/me/notifications", "/admin/", "/host/", "/hosts/ella"]
        for path in must_see:
            assert path in checked, f"{path} was not rendered as HTML"
        space_page = f"/spaces/{planted['space_id']}"
        assert space_page in checked
        page.goto(base + space_page)
        # Shown as typed: the title text contains the literal payload.
        assert PAYLOADS[0] in page.locator("h1").inner_text()
        page.goto(base + "/me/notifications")
        assert "Jazz <script>" in page.locator("main").inner_text()
