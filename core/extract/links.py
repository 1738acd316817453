"""Find links wherever people write them: hrefs, page metadata, plain text, Markdown, JSON.

Pure functions of untrusted text, run on every page of a crawl, so they are built on
regular expressions and lxml's XPath (both in C) rather than loops over characters,
and every input is bounded. They only find URLs: whether one is a space is for the
platforms to say (core.platforms.registry.recognise), which keeps look-alikes out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from parsel import Selector

from core.extract.pages import as_selector
from core.extract.text import ANCHOR_MAX, clean_text

#: Longest URL taken from text; anything longer is not a link anyone shares.
URL_MAX = 2048
#: Most characters of text, and most links, read from one text, page or JSON document.
TEXT_MAX = 1_000_000
LINKS_MAX = 5000
#: Longest stretch kept either side of a link for the line around it.
LINE_MAX = 1000
_JSON_VALUES_MAX = 100_000

# Characters a URL written in text never holds: white space, quotes, brackets other
# than parentheses, and the punctuation of CJK and full-width text that runs on
# without a space. An ellipsis is excluded too: a URL cut by one is truncated.
_URL_CHAR = (
    r"[^\s<>\"'`{}|\\^\[\]\x00-\x1f\x7f\u00ab\u00bb\u2018-\u201f\u2026\u2039\u203a"
    r"\u3000-\u303f\uff00-\uffef]"
)
_LINK = re.compile(
    # A URL with its scheme, not glued to a longer word ("git+https://").
    rf"(?<![A-Za-z0-9+.-])https?://(?:\[[0-9A-Fa-f:.]+\]|{_URL_CHAR}){_URL_CHAR}*"
    # Or one without: a www. host, or an X host with a path ("x.com/i/spaces/..."),
    # where the host starts the word, so "notx.com/..." and "a.x.com/..." are not X.
    # Letters of scripts written without spaces (CJK) may come right before it.
    rf"|(?<![0-9A-Za-z_\u00c0-\u024f\u0370-\u052f.@/:%+-])"
    rf"(?:www\.(?:[A-Za-z0-9-]+\.)+[A-Za-z]{{2,63}}(?![A-Za-z0-9-])"
    rf"|(?:(?:mobile|m|www)\.)?(?:x|twitter)\.com(?=/))"
    rf"(?:[:/?#]{_URL_CHAR}*)?",
    re.IGNORECASE,
)
_SCHEME = re.compile(r"^https?://", re.IGNORECASE)
# Punctuation that ends the sentence around a URL rather than the URL itself; `*` and
# `_` are Markdown emphasis around it.
_TRAILING = ".,;:!?*_~"
# Anything worth a closer look for links written as text.
_HINT = re.compile(r"https?://|www\.|(?:x|twitter)\.com/", re.IGNORECASE)
_MARKUP = re.compile(r"<[A-Za-z!/]")
# The text of a Markdown link, "[text](", right before its URL.
_MARKDOWN_TEXT = re.compile(r"\[([^\[\]\n]{1,300})\]\(<?\Z")

#: Elements whose text is never a link written as text: anchors (their href is the
#: link, and their text may be a shortened display of it) and code.
_OPAQUE = frozenset({"a", "script", "style", "template"})
_TEXT_NODES = (
    "//text()[not(ancestor::a or ancestor::script or ancestor::style or ancestor::template)]"
)
#: Elements that end a run of text: a URL never runs on across them. Inline elements
#: (span, b, wbr, ...) do not, as a browser shows their text run together.
_BLOCK_NAMES = (
    "address article aside blockquote body br caption dd details dialog div dl dt fieldset"
    " figcaption figure footer form h1 h2 h3 h4 h5 h6 head header hr html li main nav ol"
    " option p pre section summary table tbody td tfoot th thead title tr ul"
)
BLOCKS = frozenset(_BLOCK_NAMES.split())
#: OpenGraph, Twitter-card and App Links properties whose content is a URL.
_META_URL_NAMES = (
    "og:url og:see_also og:audio og:audio:url og:audio:secure_url og:video og:video:url"
    " og:video:secure_url twitter:url al:web:url"
)
META_URLS = frozenset(_META_URL_NAMES.split())
_META_TITLES = ("og:title", "twitter:title")


@dataclass(frozen=True)
class PageLink:
    """A link found in HTML: where it points, its text, how it was written, where it sits.

    `how` is "href" (an anchor), "meta" (OpenGraph/Twitter-card metadata or the
    canonical link; its text is the page's title) or "text" (written as plain text;
    its text is a Markdown link's, if it is one).
    `element` is the lxml element it sits in: the anchor, the meta tag, or the block
    whose text holds it, for the sharing context around it.
    """

    url: str
    text: str = ""
    how: str = "href"
    element: Any = None
    line: str = ""  # for a link written as text: the line it was written in


def text_links(text: str) -> list[str]:
    """Return the http(s) URLs written in plain text or Markdown, in order, once each.

    Schemeless X links ("x.com/i/spaces/...") and www. hosts get `https://`; wrapping
    brackets, quotes and trailing punctuation are left out; Markdown's `[t](url)` and
    `<url>` forms read as the URL. A URL cut short by an ellipsis is left out.
    """
    found: dict[str, None] = {}
    for url, _, _, _ in _scan(text):
        found.setdefault(url)
        if len(found) >= LINKS_MAX:
            break
    return list(found)


def _scan(text: str) -> Iterator[tuple[str, int, int, str]]:
    """Yield each URL written in `text`, where it starts and ends, and its Markdown text."""
    text = text[:TEXT_MAX]
    for match in _LINK.finditer(text):
        start, end = match.span()
        if text.startswith("\u2026", end):
            continue  # "x.com/i/spaces/1Ab…": the rest of the id is missing
        url = _trim(match.group())
        if not url or len(url) > URL_MAX:
            continue
        if not _SCHEME.match(url):
            url = "https://" + url
        if urlsplit_host(url):
            label = _MARKDOWN_TEXT.search(text, max(0, start - ANCHOR_MAX - 4), start)
            yield url, start, end, label.group(1) if label else ""


def line_around(text: str, start: int, end: int) -> str:
    """Return the line of `text` holding `text[start:end]`, at most LINE_MAX long."""
    first = text.rfind("\n", max(0, start - LINE_MAX), start) + 1
    last = text.find("\n", end, end + LINE_MAX)
    return text[max(first, start - LINE_MAX) : last if last >= 0 else end + LINE_MAX]


def _trim(url: str) -> str:
    if len(url) > URL_MAX:
        return ""
    url = url.rstrip(_TRAILING)
    # A closing parenthesis belongs to the URL only when it closes one opened in it
    # (Wikipedia's "Foo_(bar)"); otherwise it wraps the URL, as Markdown's does.
    while url.endswith(")") and url.count(")") > url.count("("):
        url = url[:-1].rstrip(_TRAILING)
    return url


def urlsplit_host(url: str) -> str:
    """Return the host of `url`, or "" when it has none or cannot be parsed."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def html_links(html: str, base: str = "") -> list[tuple[str, str]]:
    """Return (absolute URL, anchor text) for every http(s) link in an HTML document.

    Hrefs come first, then OpenGraph/Twitter-card URLs (with the page's title as their
    text), then URLs written as plain text (with no text, or a Markdown link's); each
    URL once.
    """
    return [(link.url, link.text) for link in find_links(html, base)]


def find_links(page: str | Selector, base: str = "") -> list[PageLink]:
    """Return every http(s) link in a page, as html_links does, with how and where it is."""
    root = as_selector(page).root
    if not hasattr(root, "xpath"):
        return []
    base = _document_base(root, base)
    found: dict[str, PageLink] = {}
    for link in (*_hrefs(root, base), *_meta_links(root, base), *_written_links(root)):
        if link.url not in found:
            found[link.url] = link
            if len(found) >= LINKS_MAX:
                break
    return list(found.values())


def _document_base(root: Any, base: str) -> str:
    declared = root.xpath("//base/@href")
    if declared:
        resolved = _absolute(str(declared[0]), base)
        if resolved:
            return resolved
    return base


def _absolute(href: str, base: str) -> str:
    """Return `href` resolved against `base` if it is an http(s) URL, else ""."""
    # Browsers drop tabs and newlines inside URLs, and spaces around them.
    href = href.strip().replace("\t", "").replace("\n", "").replace("\r", "")
    if not href or len(href) > URL_MAX:
        return ""
    try:
        url = urljoin(base, href) if base else href
    except ValueError:
        return ""
    return url if _SCHEME.match(url) and urlsplit_host(url) else ""


def _hrefs(root: Any, base: str) -> list[PageLink]:
    links = []
    for anchor in root.xpath("//a[@href] | //area[@href]"):
        url = _absolute(anchor.get("href", ""), base)
        if url:
            words = anchor.get("alt", "") if anchor.tag == "area" else _joined(anchor)
            links.append(PageLink(url, clean_text(words, ANCHOR_MAX), "href", anchor))
    return links


def _joined(element: Any) -> str:
    # Bound the text before cleaning it: an anchor may wrap a whole page.
    return " ".join(element.xpath(".//text()"))[: ANCHOR_MAX * 4]


def _meta_links(root: Any, base: str) -> list[PageLink]:
    metas = root.xpath("//meta[@content][@property or @name]")
    title = ""
    links = []
    for meta in metas:
        name = (meta.get("property") or meta.get("name") or "").strip().lower()
        if name in _META_TITLES and not title:
            title = clean_text(meta.get("content", "")[: ANCHOR_MAX * 4], ANCHOR_MAX)
        elif name in META_URLS and (url := _absolute(meta.get("content", ""), base)):
            links.append(PageLink(url, "", "meta", meta))
    for canonical in root.xpath("//link[@href][translate(@rel, 'CANOIL', 'canoil')='canonical']"):
        if url := _absolute(canonical.get("href", ""), base):
            links.append(PageLink(url, "", "meta", canonical))
    return [PageLink(link.url, title, "meta", link.element) for link in links]


def _written_links(root: Any) -> list[PageLink]:
    """Return the URLs written as text in the page, each with the block holding it."""
    nodes = root.xpath(_TEXT_NODES)
    # Most pages write no URL outside their anchors: one search of all text says so.
    if not nodes or not _HINT.search("\n".join(nodes)[:TEXT_MAX]):
        return []
    links: list[PageLink] = []
    done: set[Any] = set()
    budget = TEXT_MAX
    for node in nodes:
        if budget <= 0 or not _HINT.search(node):
            continue
        block = _block_of(node)
        if block is None or block in done:
            continue
        done.add(block)
        for run in block_runs(block):
            budget -= len(run)
            links.extend(
                PageLink(url, clean_text(label, ANCHOR_MAX), "text", block, line_around(run, a, b))
                for url, a, b, label in _scan(run)
            )
    return links


def _block_of(node: Any) -> Any:
    element = node.getparent()
    if element is not None and node.is_tail:
        element = element.getparent()  # a tail is text of its element's parent
    while element is not None and not (isinstance(element.tag, str) and element.tag in BLOCKS):
        element = element.getparent()
    return element


def block_runs(block: Any) -> list[str]:
    """Return the runs of text directly in `block`, as a browser would show them.

    Inline elements run together ("x.com/i/spaces/1Ab<wbr>Cd" is one URL); nested
    blocks, anchors and scripts end a run (a nested block's text is its own).
    """
    runs: list[str] = []
    parts: list[str] = [block.text or ""]
    # A stack, not recursion: hostile pages nest thousands deep.
    stack: list[Any] = list(reversed(block))
    size = 0
    while stack and size < TEXT_MAX:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            size += len(item)
            continue
        if item.tail:
            stack.append(item.tail)
        tag = item.tag if isinstance(item.tag, str) else ""
        if not tag:
            continue  # a comment: hidden, but no boundary either
        if tag in _OPAQUE or tag in BLOCKS:
            runs.append("".join(parts))
            parts = []
            continue
        parts.append(item.text or "")
        stack.extend(reversed(item))
    runs.append("".join(parts))
    return [run for run in runs if run.strip()]


def json_links(data: Any, limit: int = 1000) -> list[str]:
    """Return every URL in a JSON value's strings, at any depth, in order, at most `limit`.

    A string holding HTML (a post's content) is read as HTML, so a shortened display
    of a link inside an anchor is not taken for a link of its own.
    """
    found: dict[str, None] = {}
    stack: list[Any] = [data]
    seen = 0
    while stack and len(found) < limit and seen < _JSON_VALUES_MAX:
        value = stack.pop()
        seen += 1
        if isinstance(value, dict):
            stack.extend(reversed(list(value.values())))
        elif isinstance(value, list | tuple):
            stack.extend(reversed(value))
        elif isinstance(value, str) and _HINT.search(value):
            for url in _string_links(value):
                found.setdefault(url)
    return list(found)[:limit]


def _string_links(value: str) -> list[str]:
    if _MARKUP.search(value):
        return [url for url, _ in html_links(value)]
    return text_links(value)
