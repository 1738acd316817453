"""A public Atom feed of any search: the same spaces, in the same order, as the page."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from parsel import Selector

from core.catalog.states import State

A = "{http://www.w3.org/2005/Atom}"


def _feed(response) -> ET.Element:
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/atom+xml"
    assert response.headers["Cache-Control"] == "public, max-age=60"
    return ET.fromstring(response.data)


def _page_ids(client, path: str) -> list[str]:
    page = Selector(client.get(path).text)
    return [
        href.rsplit("/", 1)[1] for href in page.css(".results .card-title a::attr(href)").getall()
    ]


def _feed_ids(feed: ET.Element) -> list[str]:
    return [e.findtext(f"{A}id").rsplit("/", 1)[1] for e in feed.findall(f"{A}entry")]


def test_feed_lists_what_the_search_page_shows(client, make_space, now) -> None:
    make_space(title="Jazz night", topics=["jazz"], lang="en", checked=now, listener_count=5)
    make_space(title="Jazz morning", topics=["jazz"], lang="en", checked=now, listener_count=9)
    make_space(title="Jazz auf Deutsch", topics=["jazz"], lang="de", checked=now)
    make_space(title="Jazz later", topics=["jazz"], lang="en", state=State.SCHEDULED)
    make_space(title="Hidden jazz", lang="en", checked=now, hidden=True)
    make_space(title="Rock night", lang="en", checked=now)
    search = "/search?q=jazz&lang=en&state=live&sort=listeners"
    page = Selector(client.get(search).text)
    # The page names its feed in the head and links it where people can see it.
    alternate = page.css('head link[rel="alternate"][type="application/atom+xml"]')
    href = alternate.attrib["href"]
    assert href == "/feeds/search.atom?q=jazz&state=live&lang=en&sort=listeners"
    assert "jazz" in alternate.attrib["title"]
    assert page.xpath("//main//a[starts-with(normalize-space(), 'Feed')]/@href").get() == href
    feed = _feed(client.get(href))
    assert _feed_ids(feed) == _page_ids(client, search)
    titles = [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")]
    assert titles == ["[LIVE] Jazz morning", "[LIVE] Jazz night"]
    assert feed.findtext(f"{A}title") == "Spaces matching \u201cjazz\u201d (state: live, lang: en)"
    self_link = feed.find(f"{A}link[@rel='self']").get("href")
    assert self_link == "http://portal.test" + href
    page_link = feed.find(f"{A}link[@rel='alternate']").get("href")
    # Both point at the search's one canonical address, whatever order it was typed in.
    assert page_link == "http://portal.test/search?q=jazz&state=live&lang=en&sort=listeners"


def test_feed_of_a_topic_filter_and_of_everything(client, make_space, now) -> None:
    make_space(title="Rust chat", topics=["rust"], checked=now)
    make_space(title="Go chat", topics=["go"], checked=now)
    rust = _feed(client.get("/feeds/search.atom?topic=rust"))
    assert [e.findtext(f"{A}title") for e in rust.findall(f"{A}entry")] == ["[LIVE] Rust chat"]
    everything = _feed(client.get("/feeds/search.atom"))
    assert everything.findtext(f"{A}title") == "All spaces"
    assert len(everything.findall(f"{A}entry")) == 2
    # Whatever page the search page was on, its feed starts at the top.
    assert _feed_ids(_feed(client.get("/feeds/search.atom?topic=rust&page=7"))) == _feed_ids(rust)


def test_bad_parameters_get_a_clear_400(client) -> None:
    for query, words in [
        ("state=sleeping", "state must be one of"),
        ("q=" + "x" * 600, "q must be at most 500"),
        ("lang=" + "x" * 40, "lang must be at most"),
        ("q=%F0%9F%8E%B7%21", "no letters or digits"),
        ("sort=loudest", "sort must be one of"),
    ]:
        response = client.get(f"/feeds/search.atom?{query}")
        assert response.status_code == 400, query
        assert "This search cannot be run" in response.text and words in response.text, query
        assert "Traceback" not in response.text


def test_feed_escapes_what_it_lists(client, make_space, now) -> None:
    make_space(title='Tea & <script>alert("x")</script>', topics=["tea"], checked=now)
    response = client.get("/feeds/search.atom?q=tea&topic=%3Cb%3E")
    assert response.status_code == 200
    feed = _feed(client.get("/feeds/search.atom?q=tea"))
    assert (
        feed.find(f"{A}entry").findtext(f"{A}title") == '[LIVE] Tea & <script>alert("x")</script>'
    )
    assert b"<script>" not in client.get("/feeds/search.atom?q=tea").data
