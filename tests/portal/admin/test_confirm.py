"""Destructive actions ask first, even without scripts; refusals show beside the field."""

from __future__ import annotations

from sqlalchemy import func, select

from core.catalog.models import AuditEntry
from tests.portal.admin.test_curation import _admin, _found


def _entries(services) -> int:
    with services.catalog.sessions() as session:
        return int(session.scalar(select(func.count(AuditEntry.id))) or 0)


def test_a_ban_without_confirmation_gets_a_page_that_asks(
    client, make_user, make_space, services, now
) -> None:
    one = make_space(title="Troll one", host_handle="troll", checked=now)
    make_space(title="Troll two", host_handle="troll", checked=now)
    token = _admin(client, make_user)
    form = {
        "csrf_token": token,
        "action": "ban host",
        "id": one,
        "reason": "spam",
        "form_id": f"space-{one}",
        "next": "/admin/spaces?host=troll",
    }
    response = client.post("/admin/act", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Ban host @troll?" in page and "(2 spaces now)" in page
    assert 'name="confirmed" value="yes"' in page and 'value="spam"' in page
    assert 'href="/admin/spaces?host=troll">Cancel</a>' in page
    assert sorted(_found(client, "troll")) == sorted([one, one + 1])  # nothing happened
    assert _entries(services) == 0
    response = client.post("/admin/act", data={**form, "confirmed": "yes"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/spaces?host=troll"
    assert _found(client, "troll") == [] and _entries(services) == 1


def test_neutral_actions_do_not_ask(client, make_user, make_space, services) -> None:
    space = make_space(title="Fine one")
    token = _admin(client, make_user)
    data = {"csrf_token": token, "action": "feature", "id": space, "reason": "great"}
    assert client.post("/admin/act", data=data).status_code == 302
    assert _entries(services) == 1


def test_the_spaces_page_marks_destructive_buttons(client, make_user, make_space) -> None:
    space = make_space(title="Card", host_handle="carla")
    _admin(client, make_user)
    page = client.get("/admin/spaces").get_data(as_text=True)
    card = page[page.index(f'id="card-{space}"') :]
    # One reason box for the card's actions, not one per button.
    assert card[: card.index("<details")].count('name="reason"') == 1
    assert 'class="action-group danger-zone"' in card
    assert 'class="button button-small button-danger" data-confirm="Ban host @carla?"' in card
    assert 'value="feature" class="button button-small">' in card


def test_a_refused_action_shows_its_message_beside_the_field(
    client, make_user, make_space, services
) -> None:
    space = make_space(title="Duplicate")
    token = _admin(client, make_user)
    fid = f"space-{space}-merge"
    response = client.post(
        "/admin/act",
        data={
            "csrf_token": token,
            "action": "merge",
            "id": space,
            "into": "99999",
            "reason": "same talk",
            "confirmed": "yes",
            "form_id": fid,
            "next": f"/admin/spaces?q={space}",
        },
    )
    assert response.headers["Location"] == f"/admin/spaces?q={space}#{fid}"
    page = client.get(f"/admin/spaces?q={space}").get_data(as_text=True)
    assert 'value="99999" required inputmode="numeric" pattern="[0-9]+" aria-invalid="true"' in page
    assert (
        f'<p class="field-error" id="{fid}-into-error">There is no space 99999 to keep.</p>' in page
    )
    assert f'id="{fid}-reason" name="reason" type="text" value="same talk"' in page
    # Shown once: the next visit is clean.
    assert "field-error" not in client.get(f"/admin/spaces?q={space}").get_data(as_text=True)
    assert _entries(services) == 0


def test_a_missing_reason_is_said_beside_the_reason_box(client, make_user, make_space) -> None:
    space = make_space(title="No reason")
    token = _admin(client, make_user)
    fid = f"space-{space}"
    client.post(
        "/admin/act",
        data={
            "csrf_token": token,
            "action": "feature",
            "id": space,
            "form_id": fid,
            "next": "/admin/spaces",
        },
    )
    page = client.get("/admin/spaces").get_data(as_text=True)
    assert "Not done: say why" in page
    assert f'id="{fid}-reason-error">Say why: every admin action needs a reason' in page


def test_an_undo_that_removes_something_asks_first(client, make_user, services) -> None:
    from tests.portal.admin.test_curation import _act

    token = _admin(client, make_user)
    url = "https://feeds.example/spaces.xml"
    _act(client, token, "add source", url=url, kind="feed")
    audit = client.get("/admin/audit").get_data(as_text=True)
    assert f'data-confirm="Remove the crawl source {url}?"' in audit
    data = {"csrf_token": token, "reason": "added by mistake", "next": "/admin/audit"}
    response = client.post("/admin/audit/1/undo", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and f"Remove the crawl source {url}?" in page
    assert 'action="/admin/audit/1/undo"' in page and _entries(services) == 1
    response = client.post("/admin/audit/1/undo", data={**data, "confirmed": "yes"})
    assert response.status_code == 302 and _entries(services) == 2
    assert "No sources yet." in client.get("/admin/sources").get_data(as_text=True)
