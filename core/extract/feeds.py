"""Read Atom, RSS and RDF feeds, sitemaps and sitemap indexes into entries with bodies.

Besides each entry's link, a feed item's body (RSS `description` and `content:encoded`,
Atom `content` and `summary`, escaped or in CDATA) is where people paste links, so it
is kept as HTML for the link finders (core.extract.links). A feed may also name a
WebSub hub and itself, and a podcast feed may announce live shows (Podcasting 2.0
`<podcast:liveItem>`). The XML parser resolves no entities: a feed cannot make it
read files or the network.
"""

from __future__ import annotations

import codecs
import contextlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from core.extract.text import DESCRIPTION_MAX, TITLE_MAX, clean_text
from core.timeutil import parse_iso

#: The sitemap protocol's own limit of URLs per file, used for every kind.
ENTRIES_MAX = 50_000
#: Longest body kept of one entry, and longest plain text made of it.
HTML_MAX = 200_000
TEXT_MAX = 4000

_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*\bencoding\s*=\s*["']([A-Za-z0-9._-]{1,40})["']""")
_SCRIPT_BLOCK = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
# An absolute http(s) URL with a plain host name and nothing odd in it.
_PLAIN_URL = re.compile(
    r"(?i)https?://[a-z0-9-]+(?:\.[a-z0-9-]+)*(?::\d{1,5})?(?:[/?#][^\s\\]*)?\Z"
)


@dataclass
class FeedEntry:
    """One entry: its link, title, body as HTML and as plain text, and when it was published.

    A sitemap's `<loc>` is an entry with only a link.
    """

    url: str
    title: str = ""
    html: str = ""
    text: str = ""
    published: datetime | None = None


@dataclass
class LiveItem:
    """A Podcasting 2.0 `<podcast:liveItem>`: a live show, its state as the feed gives it.

    `status` is the attribute as written, lower-cased (the namespace documents
    "pending", "live" and "ended"); times are aware, or None when missing or unreadable.
    """

    status: str
    start: datetime | None = None
    end: datetime | None = None
    title: str = ""
    url: str = ""
    guid: str = ""
    description: str = ""
    enclosure_url: str = ""


@dataclass
class Feed:
    """What a feed or sitemap holds; `kind` says which it was ("" when it was neither)."""

    entries: list[FeedEntry] = field(default_factory=list)
    hub: str = ""
    self_url: str = ""
    live_items: list[LiveItem] = field(default_factory=list)
    kind: str = ""


def parse_feed(body: str | bytes, url: str) -> Feed:
    """Return the entries, WebSub hub, own URL and live items of a feed or sitemap at `url`.

    Links are made absolute against `url`; anything that is not a feed gives an empty
    Feed with no kind.
    """
    text = _decode(body) if isinstance(body, bytes) else body
    sel = Selector(text=text or "<empty/>", type="xml")
    sel.remove_namespaces()
    feed = Feed()
    if sel.xpath("/feed"):
        feed.kind = "atom"
        feed.entries = [_atom_entry(entry, url) for entry in sel.xpath("/feed/entry")]
        top = sel.xpath("/feed")
    elif sel.xpath("/rss | /RDF"):
        feed.kind = "rss" if sel.xpath("/rss") else "rdf"
        items = sel.xpath("/rss/channel/item | /RDF/item | /RDF/channel/item")
        feed.entries = [_rss_item(item, url) for item in items]
        top = sel.xpath("/rss/channel | /RDF/channel")
        feed.live_items = [_live_item(item, url) for item in sel.xpath("/rss/channel/liveItem")]
    elif sel.xpath("/urlset | /sitemapindex"):
        feed.kind = "sitemapindex" if sel.xpath("/sitemapindex") else "sitemap"
        # Straight from lxml: a sitemap may list 50,000 URLs, each wrapped by parsel otherwise.
        locs = sel.root.xpath("/urlset/url/loc/text() | /sitemapindex/sitemap/loc/text()")
        feed.entries = [FeedEntry(link) for loc in locs if (link := _link(loc, url))]
        return _bounded(feed)
    else:
        return feed
    feed.hub = _link(top.xpath("link[@rel='hub']/@href").get(), url)
    feed.self_url = _link(top.xpath("link[@rel='self']/@href").get(), url)
    return _bounded(feed)


def _bounded(feed: Feed) -> Feed:
    del feed.entries[ENTRIES_MAX:]
    del feed.live_items[ENTRIES_MAX:]
    return feed


def _decode(body: bytes) -> str:
    """Return the text of an XML document, in the encoding its BOM or declaration names."""
    for bom, name in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if body.startswith(bom):
            return body.decode(name, errors="replace")
    declared = _DECLARED.match(body[:200])
    encoding = "utf-8"
    # An unknown name leaves UTF-8, what XML means when it names none.
    if declared:
        with contextlib.suppress(LookupError):
            encoding = codecs.lookup(declared.group(1).decode("ascii")).name
    return body.decode(encoding, errors="replace")


def _atom_entry(entry: Selector, base: str) -> FeedEntry:
    hrefs = entry.xpath("link[not(@rel) or @rel='alternate']/@href").getall()
    link = _link(hrefs[0], base) if hrefs else _absolute_only(entry.xpath("id/text()").get())
    body = "\n".join(_atom_body(part) for part in entry.xpath("content | summary"))
    published = entry.xpath("published/text()").get() or entry.xpath("updated/text()").get()
    return _entry(link, _title(entry), body, parse_iso(published))


def _atom_body(part: Selector) -> str:
    """Return an Atom content or summary element as HTML, whichever of its types it is."""
    kind = (part.attrib.get("type") or "text").strip().lower()
    if kind in ("xhtml", "application/xhtml+xml"):
        # Inline XHTML: serialise it; its text nodes are text, so they stay escaped.
        nodes = part.xpath("node()")
        return "".join(
            html.escape(node.root) if isinstance(node.root, str) else node.get() for node in nodes
        )
    value = "".join(part.xpath("text()").getall())
    return value if kind in ("html", "text/html") else html.escape(value)


def _rss_item(item: Selector, base: str) -> FeedEntry:
    link = _link(item.xpath("link/text()").get(), base)
    if not link:
        guid = item.xpath("guid")
        # A guid is the item's page only when it does not say it is not one.
        if guid and (guid.attrib.get("isPermaLink") or "true").strip().lower() != "false":
            link = _absolute_only(guid.xpath("text()").get())
    body = "\n".join(
        "".join(part.xpath("text()").getall()) for part in item.xpath("description | encoded")
    )
    published = item.xpath("pubDate/text()").get()
    when = _rfc822(published) if published else parse_iso(item.xpath("date/text()").get())
    return _entry(link, _title(item), body, when)


def _entry(link: str, title: str, body: str, published: datetime | None) -> FeedEntry:
    body = body.strip()[:HTML_MAX]
    return FeedEntry(link, title, body, plain_text(body), published)


def _live_item(item: Selector, base: str) -> LiveItem:
    page = _link(item.xpath("link/text()").get(), base) or _link(
        item.xpath("contentLink/@href").get(), base
    )
    return LiveItem(
        status=(item.attrib.get("status") or "").strip().lower(),
        start=parse_iso(item.attrib.get("start")),
        end=parse_iso(item.attrib.get("end")),
        title=_title(item),
        url=page,
        guid=clean_text(item.xpath("guid/text()").get(), TITLE_MAX),
        description=clean_text(
            " ".join(item.xpath("description//text()").getall()), DESCRIPTION_MAX
        ),
        enclosure_url=_link(item.xpath("enclosure/@url").get(), base),
    )


def _title(node: Selector) -> str:
    # Atom titles may be escaped HTML; clean_text takes both kinds of markup out.
    return clean_text(" ".join(node.xpath("title//text()").getall())[: TITLE_MAX * 4], TITLE_MAX)


def plain_text(body: str) -> str:
    """Return an entry body's text: tags and scripts out, entities read, spaces collapsed."""
    text = _TAG.sub(" ", _SCRIPT_BLOCK.sub(" ", body[: TEXT_MAX * 8]))
    text = _CONTROL.sub(" ", html.unescape(text))
    return _SPACE.sub(" ", text).strip()[:TEXT_MAX]


def _link(value: str | None, base: str) -> str:
    """Return `value` resolved against `base` if it is an http(s) URL, else ""."""
    value = (value or "").strip()
    if not value:
        return ""
    if _PLAIN_URL.match(value):
        return value  # the usual absolute URL: no need to parse it (sitemaps list 50,000)
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return ""
    return url if parts.scheme.lower() in ("http", "https") and host else ""


def _absolute_only(value: str | None) -> str:
    """Return `value` if it is an absolute http(s) URL: ids may be URNs or bare numbers."""
    value = (value or "").strip()
    return _link(value, "") if value.lower().startswith(("http://", "https://")) else ""


def _rfc822(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
