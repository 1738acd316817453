"""Feeds read whole: entries with their bodies, the WebSub hub, live podcast items, sitemaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from core.extract.feeds import ENTRIES_MAX, Feed, FeedEntry, LiveItem, parse_feed
from core.extract.links import html_links

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:atom="http://www.w3.org/2005/Atom" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Birds</title><link>https://b.example/</link>
  <atom:link rel="hub" href="https://hub.example/"/>
  <atom:link rel="self" href="/feed.xml"/>
  <item><title>Owls &amp; friends</title><link>https://b.example/owls</link>
    <description>Short: &lt;a href="https://x.com/i/spaces/1EscapedEscap"&gt;listen&lt;/a&gt;</description>
    <content:encoded><![CDATA[<p>Tonight at x.com/i/spaces/1CdataCdataCd!</p>]]></content:encoded>
    <pubDate>Tue, 01 Dec 2026 20:00:00 +0100</pubDate></item>
  <item><title>No link</title><guid isPermaLink="false">42</guid>
    <description>plain text https://x.com/i/spaces/1PlainPlainPl</description>
    <dc:date>2026-12-02T10:00:00Z</dc:date></item>
  <item><title>Guid page</title><guid>https://b.example/guid</guid><pubDate>garbage</pubDate></item>
</channel></rss>"""


def test_rss_items_keep_their_bodies_escaped_or_in_cdata() -> None:
    feed = parse_feed(RSS.encode(), "https://b.example/feed")
    assert (feed.kind, feed.hub, feed.self_url) == (
        "rss",
        "https://hub.example/",
        "https://b.example/feed.xml",
    )
    owls, bare, guid = feed.entries
    assert (owls.url, owls.title) == ("https://b.example/owls", "Owls & friends")
    assert owls.published == datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
    assert [url for url, _ in html_links(owls.html)] == [
        "https://x.com/i/spaces/1EscapedEscap",
        "https://x.com/i/spaces/1CdataCdataCd",
    ]
    assert owls.text == "Short: listen Tonight at x.com/i/spaces/1CdataCdataCd!"
    # A guid that says it is no permalink is not a page.
    assert (bare.url, bare.published) == ("", datetime(2026, 12, 2, 10, tzinfo=UTC))
    assert "https://x.com/i/spaces/1PlainPlainPl" in bare.text
    assert (guid.url, guid.html, guid.published) == ("https://b.example/guid", "", None)


def test_atom_content_of_every_type_and_the_hub() -> None:
    atom = """<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>Rooms</title>
      <link rel="self" href="https://r.example/rooms.atom"/><link rel="hub" href="https://hub.example/h"/>
      <entry><title type="html">&lt;b&gt;Jazz&lt;/b&gt;</title>
        <link rel="alternate" href="/s/1"/><link rel="enclosure" href="/hls/1.m3u8"/>
        <id>urn:uuid:1</id><published>2026-12-01T10:00:00+02:00</published>
        <content type="html">&lt;p&gt;Join &lt;a href="https://x.com/i/spaces/1HtmlHtmlHtml"&gt;here&lt;/a&gt;&lt;/p&gt;</content>
        <summary>Plain &lt;tag&gt; https://x.com/i/spaces/1TextTextText</summary></entry>
      <entry><title>Inline</title><id>https://r.example/s/2</id><updated>2026-12-01T11:00:00Z</updated>
        <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
          <p>Go to <a href="https://x.com/i/spaces/1XhtmlXhtmlX">the space</a> &lt;b&gt;now</p>
        </div></content></entry>
    </feed>"""
    feed = parse_feed(atom, "https://r.example/rooms.atom")
    assert (feed.kind, feed.hub, feed.self_url) == (
        "atom",
        "https://hub.example/h",
        "https://r.example/rooms.atom",
    )
    jazz, inline = feed.entries
    assert (jazz.url, jazz.title) == ("https://r.example/s/1", "Jazz")
    assert jazz.published == datetime(2026, 12, 1, 8, tzinfo=UTC)
    assert [url for url, _ in html_links(jazz.html)] == [
        "https://x.com/i/spaces/1HtmlHtmlHtml",
        "https://x.com/i/spaces/1TextTextText",
    ]
    assert "&lt;tag&gt;" in jazz.html  # a text summary stays text
    assert inline.url == "https://r.example/s/2"
    assert html_links(inline.html) == [("https://x.com/i/spaces/1XhtmlXhtmlX", "the space")]
    assert "<b>" not in inline.html and "now" in inline.text


def test_podcast_live_items_are_read() -> None:
    podcast = """<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
    <channel><title>Show</title>
      <podcast:liveItem status="LIVE" start="2026-12-01T19:30:00.000-0600"
          end="2026-12-01T21:00:00.000-0600">
        <title>Live Q&amp;A</title><guid>show-live-1</guid>
        <description>&lt;p&gt;Ask us anything&lt;/p&gt;</description>
        <link>https://show.example/live</link>
        <enclosure url="https://show.example/live.mp3" type="audio/mpeg" length="0"/>
        <podcast:contentLink href="https://other.example/watch">Watch</podcast:contentLink>
      </podcast:liveItem>
      <podcast:liveItem status="pending" start="bad">
        <title>Later</title><podcast:contentLink href="/next"/></podcast:liveItem>
      <item><title>Episode 1</title><link>https://show.example/1</link>
        <enclosure url="https://show.example/1.mp3"/></item>
    </channel></rss>"""
    feed = parse_feed(podcast, "https://show.example/feed")
    central = timezone(timedelta(hours=-6))
    assert feed.live_items == [
        LiveItem(
            status="live",
            start=datetime(2026, 12, 1, 19, 30, tzinfo=central),
            end=datetime(2026, 12, 1, 21, 0, tzinfo=central),
            title="Live Q&A",
            url="https://show.example/live",
            guid="show-live-1",
            description="Ask us anything",
            enclosure_url="https://show.example/live.mp3",
        ),
        LiveItem(status="pending", title="Later", url="https://show.example/next"),
    ]
    assert [entry.url for entry in feed.entries] == ["https://show.example/1"]


def test_sitemaps_and_indexes_list_their_locations() -> None:
    sitemap = """<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc> https://r.example/s/1 </loc></url><url><loc>/s/3</loc></url>
      <url><loc>javascript:alert(1)</loc></url></urlset>"""
    assert parse_feed(sitemap, "https://r.example/sitemap.xml") == Feed(
        entries=[FeedEntry("https://r.example/s/1"), FeedEntry("https://r.example/s/3")],
        kind="sitemap",
    )
    index = """<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <sitemap><loc>https://r.example/sitemap-2.xml</loc></sitemap></sitemapindex>"""
    feed = parse_feed(index, "https://r.example/sitemap.xml")
    assert (feed.kind, [e.url for e in feed.entries]) == (
        "sitemapindex",
        ["https://r.example/sitemap-2.xml"],
    )


def test_what_is_not_a_feed_is_an_empty_one() -> None:
    for body in ("", "garbage", "<html><body>page</body></html>", b"\xff\xfe\x00<"):
        assert parse_feed(body, "https://b.example/") == Feed()
    assert parse_feed("<rss", "https://b.example/") == Feed(kind="rss")


def test_declared_encodings_and_hostile_feeds() -> None:
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><rss><channel><item><title>Caf\xe9</title>'
    latin += "<link>https://b.example/c</link></item></channel></rss>"
    assert parse_feed(latin.encode("latin-1"), "https://b.example/").entries[0].title == "Caf\xe9"
    laughs = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">
      <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
      <!ENTITY x SYSTEM "file:///etc/passwd">]>
      <rss><channel><item><title>&c;&x;</title><link>https://b.example/1</link>
      <description>&x;</description></item></channel></rss>"""
    (entry,) = parse_feed(laughs, "https://b.example/").entries
    assert entry.url == "https://b.example/1"
    assert "root:" not in entry.html + entry.title and len(entry.title) < 200
    many = "<urlset>" + "<url><loc>https://b.example/p</loc></url>" * (ENTRIES_MAX + 5)
    assert len(parse_feed(many + "</urlset>", "https://b.example/").entries) == ENTRIES_MAX
