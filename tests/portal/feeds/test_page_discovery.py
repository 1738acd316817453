"""What pages tell browsers, feed readers and embedders: feeds, oEmbed, JSON-LD, embed code."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from parsel import Selector

from core.catalog.states import State
from tests.portal.accounts.helpers import make_user
from tests.portal.views.conftest import ROOMS

HOSTILE = "</script><script>alert(1)</script> & <!-- talk"
ATOM = 'head link[rel="alternate"][type="application/atom+xml"]'


def _json_ld(html: str) -> dict:
    blocks = re.findall(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)
    assert len(blocks) == 1, "the page has exactly one JSON-LD block, whole"
    return json.loads(blocks[0])


def test_json_ld_describes_the_space_and_keeps_hostile_text_inside(client, make_space, now) -> None:
    start = (now - timedelta(hours=1)).replace(microsecond=0)
    space_id = make_space(
        title=HOSTILE,
        description="A <b>bold</b> chat",
        host_handle="ann",
        host_name="Ann </script>",
        started_at=start,
        lang="en",
        topics=["jazz"],
        checked=now,
    )
    html = client.get(f"/spaces/{space_id}").text
    # Nothing of the title escaped the JSON into the page as markup.
    assert "<script>alert(1)" not in html
    event = _json_ld(html)
    assert event["@context"] == "https://schema.org"
    assert event["@type"] == "BroadcastEvent"
    assert event["name"] == HOSTILE
    assert event["description"] == "A <b>bold</b> chat"
    assert event["url"] == f"http://portal.test/spaces/{space_id}"
    assert event["startDate"] == start.isoformat().replace("+00:00", "Z")
    assert "endDate" not in event
    assert event["isLiveBroadcast"] is True
    assert event["eventStatus"] == "https://schema.org/EventScheduled"
    assert event["organizer"]["@type"] == "Person"
    assert event["organizer"]["name"] == "Ann </script>"
    assert event["organizer"]["url"].startswith("http")
    assert event["inLanguage"] == "en"


def test_json_ld_of_scheduled_and_ended_spaces(client, make_space, now) -> None:
    start = (now + timedelta(days=1)).replace(microsecond=0)
    later = make_space(state=State.SCHEDULED, scheduled_start=start)
    assert _json_ld(client.get(f"/spaces/{later}").text)["startDate"] == (
        start.isoformat().replace("+00:00", "Z")
    )
    began = (now - timedelta(hours=2)).replace(microsecond=0)
    ended = (now - timedelta(hours=1)).replace(microsecond=0)
    over = make_space(state=State.ENDED, started_at=began, ended_at=ended)
    event = _json_ld(client.get(f"/spaces/{over}").text)
    assert event["startDate"] == began.isoformat().replace("+00:00", "Z")
    assert event["endDate"] == ended.isoformat().replace("+00:00", "Z")


def test_space_page_has_oembed_discovery(client, make_space, now) -> None:
    space_id = make_space(title="Morning show", checked=now)
    page = Selector(client.get(f"/spaces/{space_id}").text)
    link = page.css('head link[rel="alternate"][type="application/json+oembed"]')
    href = link.attrib["href"]
    parts = urlsplit(href)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "http://portal.test/oembed"
    assert parse_qs(parts.query)["url"] == [f"http://portal.test/spaces/{space_id}"]
    answer = client.get(f"{parts.path}?{parts.query}")
    assert answer.status_code == 200 and answer.get_json()["title"] == "Morning show"


def test_embed_section_offers_the_badge_and_player_code(client, make_space, now) -> None:
    elsewhere = make_space(platform="x", title='Say "hi" <now>', checked=now)
    page = Selector(client.get(f"/spaces/{elsewhere}").text)
    section = page.xpath("//section[.//h2[normalize-space()='Embed']]")
    assert section.css(f'img[src="/badge/{elsewhere}.svg"]')
    code = section.css("textarea#embed-badge::text").get()
    badge_html = Selector(code)
    assert badge_html.css("a::attr(href)").get() == f"http://portal.test/spaces/{elsewhere}"
    assert badge_html.css("img::attr(src)").get() == f"http://portal.test/badge/{elsewhere}.svg"
    assert 'Say "hi" <now>' in badge_html.css("img::attr(alt)").get()
    button = section.css("button[data-embed-copy='embed-badge']")
    assert button.css("::text").get() == "Copy"
    assert section.css("[aria-live][data-embed-status]")
    assert not section.css("textarea#embed-player")
    # Our own rooms play in an iframe on other sites too.
    ours = make_space(title="Ours", checked=now, player_url=f"{ROOMS}/s/r9/embed")
    player = Selector(client.get(f"/spaces/{ours}").text).css("textarea#embed-player::text").get()
    assert Selector(player).css("iframe::attr(src)").get() == f"{ROOMS}/s/r9/embed"


def test_home_topic_and_host_pages_name_their_feeds(client, make_space, now) -> None:
    make_space(title="Jazz", topics=["jazz"], host_handle="ann", host_name="Ann", checked=now)
    start = now + timedelta(days=1)
    make_space(host_handle="ann", host_name="Ann", state=State.SCHEDULED, scheduled_start=start)
    for path, feed in [
        ("/", "/feeds/live.atom"),
        ("/topics/jazz", "/feeds/topics/jazz.atom"),
        ("/hosts/ann", "/feeds/hosts/ann.atom"),
    ]:
        page = Selector(client.get(path).text)
        assert page.css(ATOM).attrib["href"] == feed, path
        assert page.css(ATOM).attrib["title"], path
        visible = page.xpath("//main//a[starts-with(normalize-space(), 'Feed')]/@href").getall()
        assert visible == [feed], path
        assert client.get(feed).status_code == 200, feed
    host_page = Selector(client.get("/hosts/ann").text)
    calendar = host_page.xpath("//main//a[starts-with(normalize-space(), 'Calendar')]/@href")
    assert calendar.get() == "/calendar/hosts/ann.ics"
    assert client.get(calendar.get()).mimetype == "text/calendar"


def test_a_person_who_never_hosted_offers_no_feeds(client, services) -> None:
    make_user(services, "newbie@example.test")
    page = Selector(client.get("/hosts/newbie").text)
    assert page.css("h1::text").get() == "newbie"
    assert not page.css(ATOM)
    assert not page.xpath("//main//a[starts-with(normalize-space(), 'Feed')]")
