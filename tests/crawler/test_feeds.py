"""Feeds and sitemaps: the links they list, and nothing read from the machine."""

from __future__ import annotations

from crawler.feeds import feed_links, is_feed, read_feed


def test_feeds_and_sitemaps_list_their_links() -> None:
    atom = """<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Rooms</title>
      <entry><title>Jazz</title><link rel="alternate" href="https://r.example/s/1?utm_source=feed"/>
        <link rel="enclosure" href="https://r.example/hls/1.m3u8"/><id>urn:x</id></entry>
      <entry><title>Talk</title><link href="/s/2"/></entry></feed>"""
    assert feed_links(atom, "https://r.example/rooms.atom") == [
        ("https://r.example/s/1", "Jazz"),
        ("https://r.example/s/2", "Talk"),
    ]
    rss = """<rss version="2.0"><channel><item><title>X</title>
      <link>https://twitter.com/i/spaces/1AbCdEfGhIjKl</link></item></channel></rss>"""
    assert feed_links(rss, "https://b.example/feed") == [
        ("https://x.com/i/spaces/1AbCdEfGhIjKl", "X")
    ]
    sitemap = """<?xml version="1.0" encoding="UTF-8"?>
      <urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
      <url><loc> https://r.example/s/1 </loc></url><url><loc>https://r.example/s/3</loc></url>
      </urlset>"""
    assert [link for link, _ in feed_links(sitemap, "https://r.example/sitemap.xml")] == [
        "https://r.example/s/1",
        "https://r.example/s/3",
    ]
    assert is_feed("application/atom+xml; charset=utf-8", b"")
    assert is_feed("text/plain", b"  <?xml version='1.0'?><urlset/>")
    assert not is_feed("text/html", b"<!doctype html><html></html>")


def test_feed_with_an_external_entity_does_not_read_files() -> None:
    evil = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
      <rss><channel><item><title>&x;</title><link>https://r.example/s/1</link></item></channel></rss>"""
    assert feed_links(evil, "https://r.example/f") == [("https://r.example/s/1", "")]


def test_links_in_entry_bodies_are_shared_by_the_entry() -> None:
    rss = """<?xml version="1.0"?><rss version="2.0"
      xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
      <item><title>Owls tonight</title><link>https://b.example/posts/owls?utm_source=rss</link>
        <description>&lt;p&gt;Hosted by @BirdNerd &lt;a href="/s/9"&gt;room&lt;/a&gt;&lt;/p&gt;
        </description>
        <content:encoded><![CDATA[<p>Join x.com/i/spaces/1CdataCdataCd. #birds</p>
          <p><a href="https://x.com/i/spaces/1HrefHrefHref">listen</a>
          notx.com/i/spaces/1NopeNopeNope https://x.com/i/lists/1ListListList</p>]]></content:encoded>
      </item>
      <item><title>Direct</title><link>https://twitter.com/i/spaces/1DirectDirect</link>
        <description>more at https://x.com/i/spaces/1CdataCdataCd</description></item>
    </channel></rss>"""
    finds = read_feed(rss, "https://b.example/feed")
    spaces = {(f.record.url, f.page_url, f.anchor_text): f.record for f in finds.spaces}
    post, feed = "https://b.example/posts/owls", "https://b.example/feed"
    assert set(spaces) == {
        ("https://x.com/i/spaces/1CdataCdataCd", post, "Owls tonight"),
        ("https://x.com/i/spaces/1HrefHrefHref", post, "listen"),
        ("https://x.com/i/spaces/1DirectDirect", feed, "Direct"),
        # The entry that is itself a space has no page of its own: the feed shared it.
        ("https://x.com/i/spaces/1CdataCdataCd", feed, "Direct"),
    }
    cdata = spaces[("https://x.com/i/spaces/1CdataCdataCd", post, "Owls tonight")]
    assert (cdata.title, cdata.host_handle, cdata.topics) == ("Owls tonight", "BirdNerd", ["birds"])
    assert finds.follow == [
        (post, "Owls tonight", feed),
        ("https://b.example/s/9", "room", post),
        ("https://x.com/i/lists/1ListListList", "Owls tonight", post),
    ]
