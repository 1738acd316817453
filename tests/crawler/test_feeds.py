"""Feeds and sitemaps: the links they list, and nothing read from the machine."""

from __future__ import annotations

from crawler.feeds import feed_links, is_feed


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
