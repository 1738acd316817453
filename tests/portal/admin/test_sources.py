"""The admin Sources page: sources of every kind added by form, listed with their health."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.catalog.models import Source
from core.catalog.sources import add_source, record_source_run
from core.timeutil import utcnow
from tests.portal.hosting.conftest import sign_in


def _add(client, token: str, **fields: str):
    data = {"csrf_token": token, "action": "add source", "reason": "more reach", **fields}
    return client.post("/admin/act", data=data)


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


def test_a_mastodon_source_added_by_form_shows_its_health(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_admin=True))
    url = "https://mastodon.example/tags/spaces"
    response = _add(client, token, url=url, kind="", query="", interval_s="120", depth="1")
    assert response.status_code == 302 and _flashes(client)[-1].startswith("Done")
    with services.catalog.session() as session:
        source = session.scalars(select(Source)).one()
        assert (source.url, source.kind, source.interval_s) == (url, "mastodon", 120)
        page = client.get("/admin/sources").get_data(as_text=True)
        assert "Not read yet." in page and "Last good fetch: never." in page
        now = utcnow()
        record_source_run(
            session, source.id, pages=1, spaces=0, errors=0, duration_s=0.3, status=200, now=now
        )
        for minutes in (3, 2):
            record_source_run(
                session,
                source.id,
                pages=0,
                spaces=0,
                errors=1,
                duration_s=0.1,
                error="HTTP 429",
                reason="rate_limited",
                status=429,
                now=now + timedelta(minutes=minutes),
            )
    page = client.get("/admin/sources").get_data(as_text=True)
    assert "mastodon, every 120 s" in page
    assert "Failing: the server asks us to slow down (rate limited)" in page
    assert "(2 times in a row)" in page and "Last status: HTTP 429." in page
    assert "reason code <code>rate_limited</code>" in page
    assert "Last good fetch: never" not in page


def test_kinds_queries_and_searches_by_form(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_admin=True))
    _add(client, token, url="", kind="xsearch", query="live  audio", interval_s="60")
    _add(client, token, url="https://public.api.bsky.app", kind="bluesky", query="spaces")
    _add(client, token, url="wss://relay.example", kind="", query="audio,spaces")
    _add(client, token, url="https://mastodon.example/tags/spaces", kind="page")
    with services.catalog.session() as session:
        found = {s.url: (s.kind, s.query) for s in session.scalars(select(Source))}
    x_api = services.config.x_api_url
    assert found == {
        f"{x_api}/2/spaces/search?query=live+audio": ("xsearch", "live audio"),
        "https://public.api.bsky.app/xrpc/app.bsky.feed.searchPosts?q=spaces": (
            "bluesky",
            "spaces",
        ),
        "wss://relay.example/": ("nostr", "audio,spaces"),
        "https://mastodon.example/tags/spaces": ("page", ""),
    }
    page = client.get("/admin/sources").get_data(as_text=True)
    assert "nostr, query “audio,spaces”, every 300 s" in page


def test_bad_input_says_why_and_keeps_what_was_typed(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_admin=True))
    cases = [
        ({"url": "ftp://feeds.example/x", "kind": "", "query": "keep me"}, "not a page source"),
        ({"url": "", "kind": "xsearch", "query": ""}, "needs the words to search for"),
        ({"url": "https://a.example/", "kind": "carrier-pigeon"}, "choose one of the kinds"),
        ({"url": "", "kind": "mastodon"}, "give the source&#39;s address"),
        ({"url": "https://a.example/", "interval_s": "5"}, "at least 10 seconds"),
    ]
    for fields, message in cases:
        response = _add(client, token, form_id="add-source", **fields)
        assert response.status_code == 302
        assert _flashes(client)[-1].startswith("Not done")
        page = client.get("/admin/sources").get_data(as_text=True)
        assert message.lower() in page.lower(), message
    # The last form's values come back as typed, and nothing was added.
    _add(client, token, form_id="add-source", url="ftp://x.example/", query="keep me")
    page = client.get("/admin/sources").get_data(as_text=True)
    assert 'value="ftp://x.example/"' in page and 'value="keep me"' in page
    with services.catalog.session() as session:
        assert session.scalars(select(Source)).all() == []


def test_sources_are_sorted_by_trouble(client, make_user, services) -> None:
    token = sign_in(client, make_user(is_admin=True))
    start = utcnow() - timedelta(days=4)
    with services.catalog.session() as session:
        healthy = add_source(session, "https://healthy.example/", now=start)
        failing = add_source(session, "https://failing.example/", now=start)
        broken = add_source(session, "https://broken.example/", now=start)
        record_source_run(session, healthy.id, pages=1, spaces=0, errors=0, duration_s=0.1)
        record_source_run(
            session, failing.id, pages=0, spaces=0, errors=1, duration_s=0.1, reason="timeout"
        )
        for _ in range(5):
            record_source_run(
                session, broken.id, pages=0, spaces=0, errors=1, duration_s=0.1, reason="dns"
            )
    page = client.get("/admin/sources").get_data(as_text=True)
    order = [page.index(f"https://{name}.example/") for name in ("broken", "failing", "healthy")]
    assert order == sorted(order)
    assert "Paused for ill health: broken since" in page
    assert "Its host name does not resolve." in page
    assert "Failing: no answer in time" in page and "Healthy." in page
    assert token
