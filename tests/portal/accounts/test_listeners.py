"""Follows, reminders, keyword alerts, notifications and reports, through the pages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.catalog.models import Notification, Report, SavedSearch, Space
from core.catalog.notifications import notify_went_live
from core.catalog.records import Observation
from core.catalog.spaces import record_observation
from core.catalog.states import State
from tests.portal.accounts.helpers import csrf, make_user, sign_in
from worker import context
from worker.delivery import notify_due_reminders


@pytest.fixture
def member(client, services) -> int:
    user_id = make_user(services, "fan@example.org")
    sign_in(client, "fan@example.org")
    return user_id


def _go_live(services, space_id: int, listeners: int = 3) -> None:
    with services.catalog.session() as session:
        space = session.get(Space, space_id)
        record_observation(session, space, Observation(state=State.LIVE, listener_count=listeners))


def _notices(services, user_id: int) -> list[str]:
    with services.catalog.sessions() as session:
        rows = session.scalars(
            select(Notification.text).where(Notification.user_id == user_id).order_by("id")
        )
        return list(rows)


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": csrf(client), **data})


def test_followed_host_going_live_shows_the_purple_bar(client, services, member, make_space):
    space_id = make_space(
        title="Night jazz", state=State.SCHEDULED, host_handle="Ella", host_name="Ella F"
    )
    other = make_space(title="Not followed", state=State.SCHEDULED)
    assert "Follow @Ella" in client.get("/hosts/ella").get_data(as_text=True)
    response = _post(client, "/hosts/ella/follow", next="/hosts/ella")
    assert response.headers["Location"] == "/hosts/ella"
    assert "Following @Ella" in client.get(f"/spaces/{space_id}").get_data(as_text=True)
    assert "data-followed-live" not in client.get("/").get_data(as_text=True)
    _go_live(services, space_id)
    _go_live(services, other)
    html = client.get("/").get_data(as_text=True)
    bar = html.split("data-followed-live", 1)[1].split("</section>", 1)[0]
    assert "Night jazz" in bar and "Not followed" not in bar
    assert html.index("data-followed-live") < html.index('id="live"')
    assert _notices(services, member) == ["Ella F, whom you follow, is live: Night jazz"]
    _post(client, "/hosts/ella/unfollow")
    assert "data-followed-live" not in client.get("/").get_data(as_text=True)


def test_no_bar_for_visitors(client, services, make_space) -> None:
    _go_live(services, make_space(state=State.SCHEDULED))
    assert "data-followed-live" not in client.get("/").get_data(as_text=True)


def test_following_an_unknown_host_is_404(client, member) -> None:
    assert _post(client, "/hosts/nobody/follow").status_code == 404


def test_reminder_notifies_when_it_starts_and_when_live(client, services, member, make_space):
    soon = make_space(
        title="Morning show", state=State.SCHEDULED, scheduled_start=_now() + timedelta(hours=1)
    )
    page = client.get(f"/spaces/{soon}").get_data(as_text=True)
    assert "Remind me when it starts" in page
    _post(client, f"/spaces/{soon}/remind")
    assert "Reminder set" in client.get(f"/spaces/{soon}").get_data(as_text=True)
    assert _notices(services, member) == []
    with services.catalog.session() as session:
        due_at = _now() - timedelta(minutes=1)
        session.get(Space, soon).scheduled_start = due_at
    # The worker's schedule tells reminders that their space is due, every few seconds.
    context.install(services)
    try:
        assert notify_due_reminders() == 1
    finally:
        context.reset()
    html = client.get("/").get_data(as_text=True)
    assert 'data-unread="1"' in html
    due = f"{due_at:%H:%M} UTC"
    assert _notices(services, member) == [
        f"Due at {due}: Morning show with Host 1. The host has not started yet; "
        "we will tell you when it goes live."
    ]
    _go_live(services, soon)
    _go_live(services, soon)  # every later check commits again; nobody is told twice
    assert _notices(services, member)[1:] == ["Starting now: Host 1 started Morning show"]
    page = client.get("/me/notifications").get_data(as_text=True)
    assert "Morning show" in page and "is-unread" in page
    _post(client, "/me/notifications/read")
    assert 'data-unread="0"' in client.get("/").get_data(as_text=True)


def _now():
    from core.timeutil import utcnow

    return utcnow()


def test_saved_search_alerts_once_and_feeds_atom(client, services, member, make_space) -> None:
    assert "Alert me" in client.get("/search?q=jazz").get_data(as_text=True)
    _post(client, "/me/searches", q="Jazz  piano")
    _post(client, "/me/searches", q="Jazz piano")  # the same alert is kept once
    hit = make_space(title="Late jazz", description="Solo pianos", state=State.SCHEDULED)
    miss = make_space(title="Late jazz", description="Drums only", state=State.SCHEDULED)
    for space_id in (hit, miss, hit):
        _go_live(services, space_id)
    with services.catalog.session() as session:
        assert notify_went_live(session, [hit, miss]) == 0  # already announced
    assert _notices(services, member) == ["Live now for your alert “Jazz piano”: Late jazz"]
    with services.catalog.sessions() as session:
        saved = session.scalar(select(SavedSearch))
    assert saved.query == "Jazz piano" and len(saved.feed_token) >= 32
    feed = client.get(f"/me/searches/{saved.id}.atom?key={saved.feed_token}")
    assert feed.status_code == 200 and feed.mimetype == "application/atom+xml"
    body = feed.get_data(as_text=True)
    assert body.count("<entry>") == 1 and f"/spaces/{hit}" in body
    stranger = services.catalog  # noqa: F841 (readability: a reader with no session)
    anonymous = client.application.test_client()
    assert anonymous.get(f"/me/searches/{saved.id}.atom?key={saved.feed_token}").status_code == 200
    assert anonymous.get(f"/me/searches/{saved.id}.atom?key=guess").status_code == 404
    assert anonymous.get(f"/me/searches/{saved.id}.atom").status_code == 404
    _post(client, f"/me/searches/{saved.id}/delete")
    assert client.get(f"/me/searches/{saved.id}.atom?key={saved.feed_token}").status_code == 404


def test_an_alert_without_words_is_refused(client, services, member) -> None:
    response = _post(client, "/me/searches", q="  ?! ")
    assert response.status_code == 302
    with services.catalog.sessions() as session:
        assert session.scalar(select(func.count(SavedSearch.id))) == 0


def test_others_cannot_delete_my_alert(app, client, services, member) -> None:
    _post(client, "/me/searches", q="jazz")
    make_user(services, "other@example.org")
    other = app.test_client()
    sign_in(other, "other@example.org")
    assert _post(other, "/me/searches/1/delete").status_code == 404


def test_report_a_space(client, services, member, make_space) -> None:
    space_id = make_space(title="Spammy")
    form = client.get(f"/spaces/{space_id}/report").get_data(as_text=True)
    assert "Harassment" in form
    bad = _post(client, f"/spaces/{space_id}/report", reason="other", detail=" ")
    assert bad.status_code == 400 and "what is wrong" in bad.get_data(as_text=True)
    assert _post(client, f"/spaces/{space_id}/report", reason="bogus").status_code == 400
    good = _post(client, f"/spaces/{space_id}/report", reason="spam", detail="Link farm")
    assert good.status_code == 302
    _post(client, f"/spaces/{space_id}/report", reason="abuse", detail="Worse")
    with services.catalog.sessions() as session:
        reports = list(session.scalars(select(Report)))
    assert [(r.reason, r.detail, r.status, r.user_id) for r in reports] == [
        ("abuse", "Worse", "open", member)
    ]


def test_my_page_lists_what_i_keep(client, services, member, make_space) -> None:
    space_id = make_space(title="Coming soon", state=State.SCHEDULED, host_handle="kim")
    _post(client, "/hosts/kim/follow")
    _post(client, f"/spaces/{space_id}/remind")
    _post(client, "/me/searches", q="synths", topic="music")
    html = client.get("/me/").get_data(as_text=True)
    assert "@kim" in html and "Coming soon" in html and "“synths” #music" in html
    assert "/me/searches/1.atom?key=" in html


def test_a_start_long_past_is_not_news(client, services, member, make_space) -> None:
    old = make_space(
        title="Yesterday", state=State.SCHEDULED, scheduled_start=_now() - timedelta(hours=5)
    )
    _post(client, f"/spaces/{old}/remind")
    client.get("/")
    assert _notices(services, member) == []
