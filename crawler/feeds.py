"""Read link lists out of directories: Atom and RSS feeds, sitemaps and sitemap indexes."""

from __future__ import annotations

from parsel import Selector

from core.platforms.registry import canonical_url

FEED_TYPES = ("application/atom+xml", "application/rss+xml", "application/xml", "text/xml")
_MAX_LINKS = 50_000  # the sitemap protocol's own limit per file


def is_feed(content_type: str, body: bytes) -> bool:
    """Return True if a response looks like a feed or sitemap rather than an HTML page."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in FEED_TYPES:
        return True
    head = body[:512].lstrip().lower()
    return head.startswith(b"<?xml") or head.startswith((b"<feed", b"<rss", b"<urlset"))


def feed_links(body: str, url: str) -> list[tuple[str, str]]:
    """Return (canonical link, title) for every entry of an Atom/RSS feed or a sitemap."""
    sel = Selector(text=body, type="xml")
    sel.remove_namespaces()
    found: dict[str, str] = {}

    def add(href: str | None, title: str = "") -> None:
        link = canonical_url(href or "", url)
        if link and link not in found and len(found) < _MAX_LINKS:
            found[link] = title

    for entry in sel.xpath("//feed/entry"):
        # An Atom entry may carry several links; the alternate (or unmarked) one is the page.
        hrefs = entry.xpath("link[not(@rel) or @rel='alternate']/@href").getall()
        add(hrefs[0] if hrefs else entry.xpath("id/text()").get(), _text(entry, "title"))
    for item in sel.xpath("//rss/channel/item | //rdf/item | //RDF/item"):
        add(
            item.xpath("link/text()").get() or item.xpath("guid/text()").get(), _text(item, "title")
        )
    for loc in sel.xpath("//urlset/url/loc/text() | //sitemapindex/sitemap/loc/text()").getall():
        add(loc.strip())
    return list(found.items())


def _text(node: Selector, name: str) -> str:
    return " ".join(node.xpath(f"{name}//text()").getall()).strip()
