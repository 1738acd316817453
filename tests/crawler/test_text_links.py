"""Real crawls of space links written as text, in Markdown, in feed bodies and in metadata."""

from __future__ import annotations

from sqlalchemy import select

from bench.peers.sites import Site
from core.catalog.models import Sighting, Space
from core.config import Config
from core.services import Services
from tests.crawler.conftest import FAST
from tests.crawler.test_crawl import ROOM
from worker.crawls import run_crawl

X = "https://x.com/i/spaces/"
#: Links that look like spaces and are not; every source below carries them all.
DECOYS = (
    "notx.com/i/spaces/1DecoyNotXxxx x.com.evil.example/i/spaces/1DecoyEvilxxx "
    "https://x.com.evil.example/i/spaces/1DecoyEvilyyy x.com/i/spaces/ "
    "x.com/i/lists/1DecoyListxxx https://x.com/birdnerd/status/1234567890123 "
    "twitter.com/birdnerd x.com/i/spaces/1DecoyTrunc\u2026"
)

POST = f"""<html><head><title>Notes</title></head><body>
<article><p>Tonight @BirdNerd talks owls: x.com/i/spaces/1PlainTextAbc (bring tea!)</p>
<p>Our own room, pasted as text: {{room}}.</p></article>
<p>{DECOYS}</p></body></html>"""

NOTES = f"""# Listening list

* [Jazz night with @sax_ann](https://twitter.com/i/spaces/1MarkdownAbcd?s=20) #jazz
* {DECOYS}
"""

RSS = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>
<title>Birds</title><link>/</link>
<item><title>Dawn chorus live</title><link>/posts/1</link>
  <description>A morning of birdsong.</description>
  <content:encoded><![CDATA[<p>Join us at <b>x.com/i/spaces/1CdataLinkAbc</b> at dawn.</p>
  <p>{DECOYS}</p>]]></content:encoded></item>
</channel></rss>"""

ATOM = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Talks</title>
<entry><title>Market talk</title><link href="/talks/2"/><id>urn:talk:2</id>
  <content type="html">&lt;p&gt;Live: &lt;a href="{X}1AtomEscapedA"&gt;listen&lt;/a&gt;&lt;/p&gt;
  &lt;p&gt;{DECOYS}&lt;/p&gt;</content></entry>
</feed>"""

OG = """<html><head><meta property="og:url" content="https://x.com/i/spaces/1OgMetaOnlyA">
<meta property="og:title" content="Owls after dark"><meta property="og:see_also"
 content="https://x.com.evil.example/i/spaces/1DecoyMetaxxx"></head><body></body></html>"""


def test_space_links_are_found_in_text_markdown_feed_bodies_and_metadata(
    site: Site, crawl_config: Config, services: Services
) -> None:
    base = site.url
    site.routes.update(
        {
            "/post": POST.format(room=f"{base}/s/r1"),
            "/notes.md": (200, {"Content-Type": "text/plain; charset=utf-8"}, NOTES.encode()),
            "/feed.rss": (200, {"Content-Type": "application/rss+xml"}, RSS.encode()),
            "/feed.atom": (200, {"Content-Type": "application/atom+xml"}, ATOM.encode()),
            "/og": OG,
            "/s/r1": ROOM.format(title="Late night jazz", id="r1"),
            "/posts/1": "<html><body><p>Dawn chorus, see the feed.</p></body></html>",
            "/talks/2": "<html><body><p>Market talk.</p></body></html>",
        }
    )
    sources = ["/post", "/notes.md", "/feed.rss", "/feed.atom", "/og"]
    site.routes["/"] = "".join(f'<p><a href="{path}">{path}</a></p>' for path in sources)
    report = run_crawl([f"{base}/"], crawl_config, depth=2, settings=FAST)
    assert report.errors == 0, report.error_messages
    # The room linked only as text was read: links written as text are followed.
    assert "/s/r1" in site.paths()
    with services.catalog.session() as session:
        spaces = {space.canonical_url: space for space in session.scalars(select(Space)).unique()}
        sightings = {
            (s.space.canonical_url, s.page_url, s.anchor_text)
            for s in session.scalars(select(Sighting))
        }
    assert set(spaces) == {
        f"{X}1PlainTextAbc",
        f"{X}1MarkdownAbcd",
        f"{X}1CdataLinkAbc",
        f"{X}1AtomEscapedA",
        f"{X}1OgMetaOnlyA",
        f"{base}/s/r1",
    }
    assert sightings == {
        (f"{X}1PlainTextAbc", f"{base}/post", ""),
        (f"{base}/s/r1", f"{base}/post", ""),
        (f"{X}1MarkdownAbcd", f"{base}/notes.md", "Jazz night with @sax_ann"),
        # A feed entry's body is shared by the entry's own page, headed by its title.
        (f"{X}1CdataLinkAbc", f"{base}/posts/1", "Dawn chorus live"),
        (f"{X}1AtomEscapedA", f"{base}/talks/2", "listen"),
        (f"{X}1OgMetaOnlyA", f"{base}/og", "Owls after dark"),
    }
    plain = spaces[f"{X}1PlainTextAbc"]
    assert (plain.title, plain.platform) == ("Tonight @BirdNerd talks owls: (bring tea!)", "x")
    markdown = spaces[f"{X}1MarkdownAbcd"]
    assert markdown.title == "Jazz night with @sax_ann"
    assert markdown.host is not None and markdown.host.handle == "sax_ann"
    assert spaces[f"{X}1CdataLinkAbc"].title == "Dawn chorus live"
    assert spaces[f"{X}1OgMetaOnlyA"].title == "Owls after dark"
    assert spaces[f"{base}/s/r1"].title == "Late night jazz"
