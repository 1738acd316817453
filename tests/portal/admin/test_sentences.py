"""The audit log reads as sentences naming people and things, with changes as old → new."""

from __future__ import annotations

import re

from sqlalchemy import select

from core.catalog.models import AuditEntry
from portal.admin.sentences import lines
from tests.portal.admin.test_curation import _act, _admin


def _text(html: str) -> str:
    """The page's text as a person reads it: tags dropped, spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split()).replace(" :", ":")


def _sentences(app, services) -> list[str]:
    with app.test_request_context(), services.catalog.sessions() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        return [line.text() for line in lines(session, entries)]


def test_a_ban_reads_as_who_banned_whom_and_why(
    app, client, make_user, make_space, services
) -> None:
    space = make_space(title="Troll hour", host_handle="bob", host_name="Bob Troll")
    admin = make_user(is_admin=True, display_name="Ada Admin", email="ada@example.org")
    from tests.portal.hosting.conftest import sign_in

    token = sign_in(client, admin)
    _act(client, token, "ban host", id=space, reason="spam")
    assert _sentences(app, services) == ["Ada Admin banned host @bob: spam"]
    page = client.get("/admin/audit").get_data(as_text=True)
    text = _text(page)
    assert "Ada Admin banned host @bob (Bob Troll): spam" in text
    assert "ada@example.org" in text
    assert 'href="/hosts/bob"' in page
    assert "Banned: no → yes" in text
    assert "user 1" not in text and "host:" not in text and "{" not in text
    assert re.search(r'<time datetime="[^"]+" title="[^"]+"[^>]*>just now</time>', page)


def test_space_actions_name_the_space_and_show_old_and_new_values(
    app, client, make_user, make_space, services
) -> None:
    space = make_space(title="Speling mistake", topics=["a"])
    kept = make_space(title="The kept one")
    token = _admin(client, make_user)
    _act(client, token, "edit", id=space, title="Spelling fixed", topics="b, c")
    _act(client, token, "feature", id=space)
    _act(client, token, "merge", id=space, into=kept)
    said = _sentences(app, services)
    assert said[0] == "User 1 edited the space “Spelling fixed”: test"
    assert said[1] == "User 1 featured the space “Spelling fixed”: test"
    assert said[2] == "User 1 merged the space “Spelling fixed” into “The kept one”: test"
    text = _text(client.get("/admin/audit").get_data(as_text=True))
    assert "Title: Speling mistake → Spelling fixed" in text
    assert "Topics: a → b, c" in text
    assert "Featured: no → yes" in text
    assert "Merged into: none → “The kept one”" in text
    page = client.get("/admin/audit").get_data(as_text=True)
    assert f'href="/spaces/{kept}"' in page
    # The merged space is hidden: its public page is gone, so it links to its admin card.
    assert f'href="/admin/spaces?q={space}"' in page


def test_an_undo_says_what_it_set_back(app, client, make_user, make_space, services) -> None:
    space = make_space(title="Quiet room")
    token = _admin(client, make_user)
    _act(client, token, "hide", id=space)
    entry_id = _entries_ids(services)[0]
    client.post(f"/admin/audit/{entry_id}/undo", data={"csrf_token": token, "reason": "oops"})
    said = _sentences(app, services)
    assert said == [
        "User 1 hid the space “Quiet room”: test",
        f"User 1 unhid the space “Quiet room” (undoing #{entry_id}): oops",
    ]
    text = _text(client.get("/admin/audit").get_data(as_text=True))
    assert "Hidden: yes → no" in text and f"Undone by #{entry_id + 1}" in text


def test_other_targets_read_as_sentences(app, client, make_user, services) -> None:
    token = _admin(client, make_user)
    url = "https://feeds.example/spaces.xml"
    _act(client, token, "ban domain", domain="Spam.Example")
    _act(client, token, "add source", url=url, kind="feed", interval_s="600", depth="2")
    _act(client, token, "create picks", name="Weekend listening")
    _act(client, token, "delete picks", list="1")
    assert _sentences(app, services) == [
        "User 1 banned the domain spam.example: test",
        f"User 1 added the crawl source {url}: test",
        "User 1 created the collection “Weekend listening”: test",
        "User 1 deleted the collection “Weekend listening”: test",
    ]
    text = _text(client.get("/admin/audit").get_data(as_text=True))
    assert "Crawl every: none → 600 s" in text and "Kind: none → feed" in text


def test_a_target_filter_names_the_target(client, make_user, make_space) -> None:
    space = make_space(title="Only this one")
    other = make_space(title="Not this one")
    token = _admin(client, make_user)
    _act(client, token, "feature", id=space)
    _act(client, token, "feature", id=other)
    text = _text(client.get(f"/admin/audit?target=space:{space}").get_data(as_text=True))
    assert "Only what was done to “Only this one”" in text
    assert "Not this one" not in text


def _entries_ids(services) -> list[int]:
    with services.catalog.sessions() as session:
        return list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
