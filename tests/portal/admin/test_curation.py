"""Admin actions: hidden things leave search, API and feeds at once; every action undoes."""

from __future__ import annotations

from sqlalchemy import select

from core.catalog.curation import is_banned_domain
from core.catalog.models import AuditEntry, Sighting
from core.catalog.records import SpaceRecord
from core.catalog.spaces import upsert_space
from tests.portal.hosting.conftest import sign_in


def _admin(client, make_user) -> str:
    return sign_in(client, make_user(is_admin=True))


def _act(client, token: str, action: str, **fields) -> None:
    response = client.post(
        "/admin/act",
        data={
            "csrf_token": token,
            "action": action,
            "reason": "test",
            "confirmed": "yes",
            **fields,
        },
    )
    assert response.status_code == 302
    with client.session_transaction() as session:
        flashes = [message for _, message in session.pop("_flashes", [])]
    assert flashes and flashes[-1].startswith("Done"), flashes


def _found(client, q: str) -> list[int]:
    return [item["id"] for item in client.get(f"/api/v1/spaces?q={q}").get_json()["items"]]


def _entries(services) -> list[AuditEntry]:
    with services.catalog.sessions() as session:
        return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def test_admin_pages_need_an_admin(client, make_user) -> None:
    assert client.get("/admin/").status_code == 302
    sign_in(client, make_user(is_host=True))
    for path in (
        "/admin/",
        "/admin/audit",
        "/admin/spaces",
        "/admin/sources",
        "/admin/operations",
        "/admin/picks",
    ):
        assert client.get(path).status_code == 403, path
    assert client.post("/admin/act", data={"action": "hide"}).status_code in (400, 403)


def test_every_admin_page_renders(client, make_user, make_space, now) -> None:
    make_space(title="Shown", checked=now, shared_on=("https://new.example/p",))
    _admin(client, make_user)
    for path in (
        "/admin/",
        "/admin/audit",
        "/admin/spaces",
        "/admin/spaces?q=Shown",
        "/admin/sources",
        "/admin/operations",
        "/admin/picks",
    ):
        assert client.get(path).status_code == 200, path
    assert "new.example" in client.get("/admin/").get_data(as_text=True)


def test_hiding_removes_a_space_everywhere_and_undo_restores_it(
    client, make_user, make_space, services, now
) -> None:
    space = make_space(title="Quokka hour", topics=["animals"], checked=now)
    assert _found(client, "quokka") == [space]
    token = _admin(client, make_user)
    _act(client, token, "hide", id=space)
    assert _found(client, "quokka") == []
    assert client.get(f"/api/v1/spaces/{space}").status_code == 404
    assert client.get(f"/spaces/{space}").status_code == 404
    assert b"Quokka" not in client.get("/feeds/live.atom").data
    assert b"Quokka" not in client.get("/feeds/topics/animals.atom").data
    [entry] = _entries(services)
    assert (entry.action, entry.target, entry.reason) == ("hide", f"space:{space}", "test")
    assert entry.before == {"hidden": False, "hidden_by": None}
    response = client.post(f"/admin/audit/{entry.id}/undo", data={"csrf_token": token})
    assert response.status_code == 302  # no reason given: refused
    assert _found(client, "quokka") == []
    client.post(f"/admin/audit/{entry.id}/undo", data={"csrf_token": token, "reason": "oops"})
    assert _found(client, "quokka") == [space]
    entries = _entries(services)
    assert entries[-1].undo_of == entry.id and entries[0].undone_by == entries[-1].id


def test_a_reason_is_required(client, make_user, make_space) -> None:
    space = make_space(title="Still here")
    token = _admin(client, make_user)
    client.post("/admin/act", data={"csrf_token": token, "action": "hide", "id": space})
    assert client.get(f"/api/v1/spaces/{space}").status_code == 200


def test_title_override_survives_crawls(client, make_user, make_space, services) -> None:
    space = make_space(
        title="speling mistake", topics=["a"], url="https://x.com/i/spaces/42", platform="x"
    )
    token = _admin(client, make_user)
    _act(client, token, "edit", id=space, title="Spelling fixed", topics="b, c")
    with services.catalog.session() as session:
        upsert_space(
            session,
            SpaceRecord(
                url="https://x.com/i/spaces/42",
                platform="x",
                title="speling mistake again",
                topics=["z"],
            ),
        )
    body = client.get(f"/api/v1/spaces/{space}").get_json()
    assert body["title"] == "Spelling fixed" and body["topics"] == ["b", "c"]
    assert _found(client, "spelling") == [space]


def test_banning_a_domain_hides_its_spaces_and_new_ones(
    client, make_user, make_space, services, now
) -> None:
    bad = make_space(platform="web", url="https://spam.example/s/1", title="Spammy", checked=now)
    good = make_space(
        platform="web", url="https://fine.example/s/1", title="Spammy too", checked=now
    )
    token = _admin(client, make_user)
    _act(client, token, "ban domain", domain="spam.example")
    assert _found(client, "spammy") == [good]
    with services.catalog.session() as session:
        assert is_banned_domain(session, "https://sub.spam.example/x")
        assert not is_banned_domain(session, "https://notspam.example/x")
        fresh = upsert_space(
            session, SpaceRecord(url="https://www.spam.example/s/2", title="Spammy")
        )
        session.flush()
        assert fresh.hidden
    _act(client, token, "unban domain", domain="spam.example")
    assert sorted(_found(client, "spammy")) == sorted([bad, good, fresh.id])


def test_banning_a_host_hides_all_their_spaces(client, make_user, make_space, now) -> None:
    one = make_space(title="Troll one", host_handle="troll", checked=now)
    make_space(title="Troll two", host_handle="troll", checked=now)
    token = _admin(client, make_user)
    _act(client, token, "ban host", id=one)
    assert _found(client, "troll") == []
    assert client.get("/feeds/hosts/troll.atom").status_code in (200, 404)
    assert b"Troll" not in client.get("/feeds/hosts/troll.atom").data


def test_merge_moves_sightings_and_redirects(client, make_user, make_space, services) -> None:
    kept = make_space(title="Same talk", shared_on=("https://a.example/1",))
    dup = make_space(
        title="Same talk (copy)", shared_on=("https://b.example/2", "https://a.example/1")
    )
    token = _admin(client, make_user)
    _act(client, token, "merge", id=dup, into=kept)
    response = client.get(f"/spaces/{dup}")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/spaces/{kept}")
    assert client.get(f"/api/v1/spaces/{kept}").get_json()["shares"] == 2
    with services.catalog.sessions() as session:
        moved = session.scalars(select(Sighting.page_url).where(Sighting.space_id == kept))
        assert sorted(moved) == ["https://a.example/1", "https://b.example/2"]
        [entry] = session.scalars(select(AuditEntry)).all()
    client.post(f"/admin/audit/{entry.id}/undo", data={"csrf_token": token, "reason": "no"})
    assert client.get(f"/spaces/{dup}").status_code == 200
    assert client.get(f"/api/v1/spaces/{dup}").get_json()["shares"] == 2
    assert client.get(f"/api/v1/spaces/{kept}").get_json()["shares"] == 1


def test_pins_and_editors_picks_show_on_the_home_page(
    client, make_user, make_space, services
) -> None:
    pinned = make_space(title="Pinned <one>")
    picked = make_space(title="Picked one")
    token = _admin(client, make_user)
    _act(client, token, "pin", id=pinned)
    _act(client, token, "create picks", name="Weekend listening")
    _act(client, token, "add pick", list="1", space=picked)
    home = client.get("/").get_data(as_text=True)
    assert "Pinned &lt;one&gt;" in home and home.index("Pinned &lt;one&gt;") < home.index(
        'id="live"'
    )
    assert "Weekend listening" in home and "Picked one" in home
    _act(client, token, "delete picks", list="1")
    assert "Weekend listening" not in client.get("/").get_data(as_text=True)
    last = _entries(services)[-1]
    client.post(f"/admin/audit/{last.id}/undo", data={"csrf_token": token, "reason": "back"})
    assert "Picked one" in client.get("/").get_data(as_text=True)


def test_sources_add_pause_remove_and_undo(client, make_user, services) -> None:
    token = _admin(client, make_user)
    url = "https://feeds.example/spaces.xml"
    _act(client, token, "add source", url=url, kind="feed", interval_s="600", depth="2")
    _act(client, token, "pause source", url=url)
    _act(client, token, "remove source", url=url)
    assert "No sources yet." in client.get("/admin/sources").get_data(as_text=True)
    last = _entries(services)[-1]
    client.post(f"/admin/audit/{last.id}/undo", data={"csrf_token": token, "reason": "back"})
    page = client.get("/admin/sources").get_data(as_text=True)
    assert url in page and "feed, every 600 s, depth 2, <strong>paused</strong>" in page


def test_reindex_is_queued_on_the_crawl_queue(client, make_user, services) -> None:
    from core.queues import CRAWL, queue

    token = _admin(client, make_user)
    client.post("/admin/operations/reindex", data={"csrf_token": token, "reason": "drift"})
    [job] = queue(services, CRAWL).get_jobs()
    assert job.func_name == "worker.jobs.reindex_search"
    assert _entries(services)[-1].action == "reindex"
