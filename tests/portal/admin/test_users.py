"""People, through the portal: asking to host, admins deciding, roles changed with reasons."""

from __future__ import annotations

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from core.catalog.host_requests import AUTO_APPROVE_KEY
from core.catalog.models import AuditEntry, Notification, Submission, User
from core.services import Services
from portal.admin.users import CHANGES
from tests.portal.accounts.helpers import PASSWORD, csrf, token_of
from tests.portal.hosting.conftest import sign_in


def _flashes(client: FlaskClient) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


def _text(response) -> str:
    return response.get_data(as_text=True)


def _entries(services: Services) -> list[AuditEntry]:
    with services.catalog.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def _fresh(services: Services, user_id: int) -> User:
    with services.catalog.sessions() as session:
        user = session.get(User, user_id)
        assert user is not None
        return user


def _change(client: FlaskClient, token: str, user_id: int, action: str, **form: str):
    # The form's id, as the person's page names it, gets the error shown beside its field.
    data = {"csrf_token": token, "action": action, "form_id": f"role-{CHANGES[action][0]}", **form}
    return client.post(f"/admin/users/{user_id}/roles", data=data)


def test_people_pages_are_for_admins_only(client, make_user) -> None:
    ann = make_user()
    assert client.get("/admin/users").status_code == 302
    token = sign_in(client, make_user(is_host=True))
    for path in ("/admin/users", f"/admin/users/{ann.id}"):
        assert client.get(path).status_code == 403, path
    refused = _change(client, token, ann.id, "grant admin", reason="me too")
    assert refused.status_code == 403
    assert client.post("/admin/host-requests/1", data={"csrf_token": token}).status_code == 403


def test_admins_find_people_by_email_handle_or_name_fifty_to_a_page(
    client, make_user, services
) -> None:
    with services.catalog.session() as session:
        for n in range(55):
            session.add(
                User(
                    email=f"p{n}@crowd.test",
                    password_hash="x",
                    handle=f"crowd{n}",
                    display_name=f"P {n}",
                )
            )
    make_user(email="ann@example.org", display_name="Ann Lee", is_host=True)
    sign_in(client, make_user(is_admin=True, display_name="Ada"))
    found = _text(client.get("/admin/users?q=ann"))
    assert "Ann Lee" in found and "1 person match" in found and "crowd1" not in found
    assert "host</span>" in found
    assert "Ann Lee" in _text(client.get("/admin/users?q=ann_lee"))  # by handle
    assert "ann@example.org" in _text(client.get("/admin/users?q=EXAMPLE.org"))
    crowd = _text(client.get("/admin/users?q=crowd.test"))
    assert "55 people match" in crowd and "page 1 of 2" in crowd
    assert crowd.count("@crowd.test") == 50
    second = _text(client.get("/admin/users?q=crowd.test&page=2"))
    assert second.count("@crowd.test") == 5
    assert "Nobody matches that" in _text(client.get("/admin/users?q=%25_nobody"))
    assert 'href="/admin/users"' in _text(client.get("/admin/"))  # the admin navigation


def test_a_role_change_needs_a_reason_and_is_logged_on_the_persons_page(
    client, make_user, services
) -> None:
    ann = make_user(display_name="Ann Lee")
    token = sign_in(client, make_user(is_admin=True, display_name="Ada"))
    response = _change(client, token, ann.id, "grant host", reason="  ")
    assert response.status_code == 302
    page = _text(client.get(f"/admin/users/{ann.id}"))
    said = "Say why: every change to a person&#39;s roles needs a reason, for the audit log."
    assert said in page
    assert not _fresh(services, ann.id).is_host and _entries(services) == []

    response = _change(client, token, ann.id, "grant host", reason="Runs the jazz club")
    assert response.status_code == 302
    assert _flashes(client) == ["Done: grant host for @ann_lee. The audit log has it."]
    assert _fresh(services, ann.id).can_host
    page = _text(client.get(f"/admin/users/{ann.id}"))
    assert re.search(
        r"Ada</a></strong> made a host of <a href=\"/admin/users/\d+\">@ann_lee</a>", page
    )
    assert "Runs the jazz club" in page and "Host: <strong>yes</strong>" in page
    log = _text(client.get("/admin/audit"))
    assert "made a host of" in log and "Undo #" not in log  # changed from the person's page


def test_suspending_asks_first_then_signs_the_person_out_and_keeps_them_out(
    app, make_user, services
) -> None:
    ann = make_user(display_name="Ann Lee", is_host=True)
    theirs = app.test_client()
    sign_in(theirs, ann)
    assert theirs.get("/account/settings").status_code == 200
    admin = app.test_client()
    token = sign_in(admin, make_user(is_admin=True))

    asked = _change(admin, token, ann.id, "suspend account", reason="Spam rooms")
    assert asked.status_code == 200 and "Suspend the account of @ann_lee?" in _text(asked)
    assert _fresh(services, ann.id).suspended_at is None
    done = _change(admin, token, ann.id, "suspend account", reason="Spam rooms", confirmed="yes")
    assert done.status_code == 302
    assert _fresh(services, ann.id).suspended_at is not None

    assert theirs.get("/account/settings").status_code == 302  # signed out everywhere
    again = app.test_client()
    signin = again.post(
        "/account/signin",
        data={"csrf_token": csrf(again), "email": ann.email, "password": PASSWORD},
    )
    assert signin.status_code == 403
    assert (
        "This account is suspended. Write to the admins if you think this is a mistake."
        in _text(signin)
    )
    wrong = again.post(
        "/account/signin",
        data={"csrf_token": csrf(again), "email": ann.email, "password": "not the password"},
    )
    assert "suspended" not in _text(wrong)  # nothing said to someone without the password


def test_an_admin_cannot_take_their_own_admin_role(client, make_user, services) -> None:
    ada = make_user(is_admin=True)
    token = sign_in(client, ada)
    page = _text(client.get(f"/admin/users/{ada.id}"))
    assert "You cannot do this to your own account" in page
    _change(client, token, ada.id, "take admin", reason="bye", confirmed="yes")
    assert "your own admin role" in " ".join(_flashes(client))
    assert _fresh(services, ada.id).is_admin


def test_a_listener_asks_to_host_and_an_admin_refuses_then_approves(
    app, make_user, services
) -> None:
    ann = make_user(display_name="Ann Lee")
    person = app.test_client()
    sign_in(person, ann)
    refused = person.get("/host/")
    assert refused.status_code == 403
    assert 'href="/account/host"' in _text(refused) and "ask to host" in _text(refused)
    settings = _text(person.get("/account/settings"))
    assert "Hosting" in settings and 'href="/account/host"' in settings

    form = person.get("/account/host")
    token = token_of(form)
    long = "Jazz " * 101
    too_long = person.post("/account/host", data={"csrf_token": token, "reason": long})
    assert too_long.status_code == 400
    page = _text(too_long)
    assert 'id="reason-error"' in page and "under 500 characters" in page
    assert long.strip() in page  # what was typed comes back
    sent = person.post("/account/host", data={"csrf_token": token, "reason": "Jazz on Fridays"})
    assert sent.status_code == 302
    assert "Your request is waiting for an admin" in _text(person.get("/account/settings"))

    admin = app.test_client()
    admin_token = sign_in(admin, make_user(is_admin=True, display_name="Ada"))
    queue = _text(admin.get("/admin/"))
    assert "Jazz on Fridays" in queue and f'href="/admin/users/{ann.id}"' in queue
    request_id = int(re.search(r"/admin/host-requests/(\d+)", queue).group(1))
    decide = f"/admin/host-requests/{request_id}"
    admin.post(decide, data={"csrf_token": admin_token, "action": "refuse", "form_id": "x"})
    assert "say why it is refused" in " ".join(_flashes(admin))
    admin.post(
        decide, data={"csrf_token": admin_token, "action": "refuse", "note": "Tell us more."}
    )
    assert "Refused: Tell us more. You may ask again." in _text(person.get("/account/settings"))
    with services.catalog.sessions() as session:
        [notice] = session.scalars(select(Notification).where(Notification.user_id == ann.id))
    assert (notice.kind, notice.dedupe) == ("decision", f"host-request:{request_id}")

    person.post("/account/host", data={"csrf_token": token, "reason": "Jazz, with guests"})
    queue = _text(admin.get("/admin/"))
    second = int(re.search(r"/admin/host-requests/(\d+)", queue).group(1))
    admin.post(
        f"/admin/host-requests/{second}", data={"csrf_token": admin_token, "action": "approve"}
    )
    assert person.get("/host/").status_code == 200
    assert "You are a host" in _text(person.get("/account/host"))
    entries = [(e.action, e.actor_id is not None) for e in _entries(services)]
    assert entries == [("refuse host request", True), ("approve host request", True)]


def test_the_approve_at_once_setting_makes_hosts_without_waiting(app, make_user, services) -> None:
    admin = app.test_client()
    token = sign_in(admin, make_user(is_admin=True, display_name="Ada"))
    assert "Approve every request at once: <strong>off</strong>" in _text(admin.get("/admin/"))
    admin.post("/admin/settings/hosts-at-once", data={"csrf_token": token, "action": "on"})
    assert "say why: every change to a setting needs a reason" in " ".join(_flashes(admin))
    admin.post(
        "/admin/settings/hosts-at-once",
        data={"csrf_token": token, "action": "on", "reason": "Launch week"},
    )
    assert services.redis.get(AUTO_APPROVE_KEY) == b"1"
    assert "Approve every request at once: <strong>on</strong>" in _text(admin.get("/admin/"))

    ann = make_user(display_name="Ann Lee")
    person = app.test_client()
    sign_in(person, ann)
    token_ann = token_of(person.get("/account/host"))
    person.post("/account/host", data={"csrf_token": token_ann, "reason": "Talks"})
    assert _flashes(person) == ["You are a host now: open your dashboard to open a room."]
    assert person.get("/host/").status_code == 200
    log = _text(admin.get("/admin/audit"))
    assert "Ada</a></strong> turned on approving every request to host at once" in log
    assert "The admins&#39; setting</strong> approved the request to host of" in log


def test_a_protected_account_is_told_it_never_hosts(app, make_user) -> None:
    kim = make_user(protected=True)
    person = app.test_client()
    token = sign_in(person, kim)
    page = _text(person.get("/account/host"))
    assert "protected: it can join and listen, but never host" in page and "<textarea" not in page
    tried = person.post("/account/host", data={"csrf_token": token, "reason": "Please"})
    assert tried.status_code == 400 and 'role="alert"' in _text(tried)


def test_the_submitter_hears_when_admins_mark_their_link(client, make_user, services) -> None:
    hal = make_user(is_host=True)
    with services.catalog.session() as session:
        submission = Submission(user_id=hal.id, url="https://pages.test/s/1")
        session.add(submission)
        session.flush()
        submission_id = submission.id
    token = sign_in(client, make_user(is_admin=True))
    client.post(
        "/admin/act",
        data={
            "csrf_token": token,
            "action": "reject submission",
            "id": submission_id,
            "reason": "spam",
        },
    )
    with services.catalog.sessions() as session:
        [notice] = session.scalars(select(Notification).where(Notification.user_id == hal.id))
    assert notice.kind == "decision" and "rejected the link you submitted" in notice.text
    assert notice.dedupe == f"submission:{submission_id}:rejected"
