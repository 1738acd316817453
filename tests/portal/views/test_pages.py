"""The server-rendered pages: what each shows, and what it must never show."""

from __future__ import annotations

import re
from datetime import timedelta

from core.catalog.states import State
from core.platforms.nip19 import Address, encode_naddr
from tests.portal.views.conftest import ROOMS


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_home_shows_live_upcoming_and_trending(client, make_space, now) -> None:
    make_space(title="Morning jazz", checked=now, listener_count=12)
    make_space(
        title="Pitch night",
        state=State.SCHEDULED,
        scheduled_start=now + timedelta(hours=3),
    )
    make_space(
        title="Old poetry",
        state=State.ENDED,
        shared_on=("http://a.test/1", "http://b.test/2", "http://c.test/3"),
    )
    response = client.get("/")
    assert response.status_code == 200
    html = text_of(response)
    live = html.split('id="live"')[1].split('id="upcoming"')[0]
    upcoming = html.split('id="upcoming"')[1].split('id="trending"')[0]
    trending = html.split('id="trending"')[1]
    assert "Morning jazz" in live and "Pitch night" not in live
    assert "Pitch night" in upcoming and "Morning jazz" not in upcoming
    assert "Old poetry" in trending and "shared on <strong>3</strong> pages" in trending
    assert 'class="badge badge-live"' in live and ">LIVE<" in live


def test_trending_puts_what_can_still_be_heard_before_what_ended(client, make_space, now):
    make_space(
        title="Ended but everywhere",
        state=State.ENDED,
        shared_on=[f"http://e.test/{n}" for n in range(5)],
    )
    make_space(
        title="Later today",
        state=State.SCHEDULED,
        scheduled_start=now + timedelta(hours=2),
        shared_on=("http://s.test/1", "http://s.test/2"),
    )
    make_space(title="On now", checked=now, shared_on=("http://l.test/1",))
    trending = text_of(client.get("/")).split('id="trending"')[1]
    order = [trending.index(t) for t in ("On now", "Later today", "Ended but everywhere")]
    assert order == sorted(order)


def test_an_overdue_space_says_the_host_has_not_started(client, make_space, now) -> None:
    late = make_space(
        title="Running late", state=State.SCHEDULED, scheduled_start=now - timedelta(minutes=5)
    )
    html = text_of(client.get(f"/spaces/{late}"))
    assert "The host has not started yet (it was due" in html
    assert "Starts" not in html.split('class="space-times"')[1].split("</p>")[0]


def test_an_ended_space_offers_nothing_to_listen_to(client, make_space) -> None:
    gone = make_space(
        title="Over now",
        state=State.ENDED,
        url="https://x.com/i/spaces/1OdKrjPXXwXKX",
        platform="x",
    )
    html = text_of(client.get(f"/spaces/{gone}"))
    assert "Listen on" not in html and "See where it was" in html


def test_live_now_needs_a_recent_verification(client, make_space, now, config) -> None:
    stale = now - timedelta(seconds=3 * config.live_check_interval_s + 5)
    fresh = now - timedelta(seconds=3 * config.live_check_interval_s - 5)
    make_space(title="Checked just now", checked=fresh)
    make_space(title="Checked long ago", checked=stale)
    make_space(title="Never checked but new")
    make_space(title="Never checked and old", updated_at=stale)
    live = text_of(client.get("/")).split('id="live"')[1].split('id="upcoming"')[0]
    assert "Checked just now" in live
    assert "Never checked but new" in live
    assert "Checked long ago" not in live
    assert "Never checked and old" not in live


def test_stale_live_space_is_not_badged_live(client, make_space, now, config) -> None:
    stale = now - timedelta(seconds=10 * config.live_check_interval_s)
    space_id = make_space(title="Quiet room", checked=stale)
    html = text_of(client.get(f"/spaces/{space_id}"))
    assert "badge-stale" in html and ">LIVE<" not in html


def test_hidden_spaces_never_show(client, make_space, now) -> None:
    hidden = make_space(
        title="Secret zebra",
        host_handle="zed",
        topics=["zebras"],
        checked=now,
        shared_on=("http://a.test/1",),
        hidden=True,
    )
    make_space(title="Visible yak", host_handle="zed", topics=["zebras"], checked=now)
    for path in ("/", "/search?q=secret", "/search", "/hosts/zed", "/topics/zebras"):
        html = text_of(client.get(path))
        assert "Secret zebra" not in html, path
    assert client.get(f"/spaces/{hidden}").status_code == 404
    assert client.get(f"/api/v1/spaces/{hidden}").status_code == 404
    assert client.get("/api/v1/spaces?q=secret").get_json()["total"] == 0


def test_space_page_embeds_our_player(client, make_space, now) -> None:
    space_id = make_space(
        title="Morning jazz",
        description="Records\nand stories",
        player_url=f"{ROOMS}/s/r1/embed",
        checked=now - timedelta(seconds=12),
        shared_on=("http://blog.test/post",),
        topics=["jazz"],
    )
    response = client.get(f"/spaces/{space_id}")
    assert response.status_code == 200
    html = text_of(response)
    assert f'<iframe src="{ROOMS}/s/r1/embed" allow="microphone; autoplay"' in html
    # One way to listen: the player's own button, no second "Listen" beside it.
    assert 'href="#player"' not in html and "data-space-cta" not in html
    assert re.search(r"checked 1\d s ago", html)
    assert 'data-ago data-prefix="checked "' in html
    assert 'href="http://blog.test/post"' in html
    assert "http://portal.test/spaces/" in html  # the link to copy and share
    assert "Live now: \u201cMorning jazz\u201d with Host" in html
    assert 'href="/hosts/' in html and 'href="/topics/jazz"' in html


def test_space_page_links_out_for_other_platforms(client, make_space) -> None:
    x_space = make_space(platform="x", title="On X", player_url="")
    elsewhere = make_space(
        url="http://other.test/s/1", title="Elsewhere", player_url="http://other.test/s/1/embed"
    )
    x_html = text_of(client.get(f"/spaces/{x_space}"))
    assert "<iframe" not in x_html and "Listen on X" in x_html
    other_html = text_of(client.get(f"/spaces/{elsewhere}"))
    # Not our room server: the CSP would block its frame anyway, so link to it instead.
    assert "<iframe" not in other_html and "Open space" in other_html


def test_a_nostr_space_links_to_its_address_for_nostr_apps(client, make_space) -> None:
    naddr = encode_naddr(Address(30311, "ab" * 32, "jazz-night", ()))
    nostr = make_space(platform="nostr", url=f"nostr:{naddr}", title="On Nostr", player_url="")
    html = text_of(client.get(f"/spaces/{nostr}"))
    assert f'href="nostr:{naddr}"' in html and "Open on Nostr" in html
    # Anything else that is not a web address is never a link.
    odd = make_space(platform="nostr", url="javascript:alert(1)", title="Odd", player_url="")
    assert "data-space-cta" not in text_of(client.get(f"/spaces/{odd}"))


def test_host_page_lists_their_spaces(client, make_space) -> None:
    make_space(title="First show", host_handle="ella", host_name="Ella")
    make_space(title="Second show", host_handle="ella", host_name="Ella", state=State.ENDED)
    make_space(title="Someone else", host_handle="bob")
    html = text_of(client.get("/hosts/ella"))
    assert "First show" in html and "Second show" in html and "Someone else" not in html
    assert html.index("First show") < html.index("Second show")  # live before ended
    assert client.get("/hosts/nobody").status_code == 404


def test_topic_page(client, make_space) -> None:
    make_space(title="Jazz talk", topics=["jazz"])
    make_space(title="Rock talk", topics=["rock"])
    html = text_of(client.get("/topics/jazz"))
    assert "Jazz talk" in html and "Rock talk" not in html
    assert client.get("/topics/nothing-here").status_code == 404
    assert client.get("/topics/jazz?page=zero").status_code == 400


def test_missing_pages_are_404_pages(client) -> None:
    for path in ("/spaces/999", "/spaces/abc", "/no/such/page"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.mimetype == "text/html"
        assert "Not found" in text_of(response)


def test_opensearch_description(client) -> None:
    response = client.get("/opensearch.xml")
    assert response.status_code == 200
    assert response.mimetype == "application/opensearchdescription+xml"
    assert 'template="http://portal.test/search?q={searchTerms}"' in text_of(response)
    assert 'rel="search"' in text_of(client.get("/"))


def test_pages_work_without_inline_code(client, make_space, now) -> None:
    space_id = make_space(title="Jazz", checked=now, topics=["jazz"], host_handle="ella")
    for path in ("/", "/search?q=jazz", f"/spaces/{space_id}", "/hosts/ella", "/topics/jazz"):
        html = text_of(client.get(path))
        assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/ld\+json"))', html), path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_a_search_that_cannot_run_keeps_what_was_typed(client) -> None:
    response = client.get("/search?q=late+jazz&sort=nonsense")
    assert response.status_code == 400
    assert 'value="late jazz"' in text_of(response)
