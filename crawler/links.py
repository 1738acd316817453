"""Read the links a page shares: every link with its anchor text, and X Spaces links.

An X Space's own page cannot be read without a signed-in browser, so what the sharing
page says around the link (the anchor text, the post it sits in) gives the space a
provisional title, host, language and topics until something better is known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from parsel import Selector

from crawler.extract import ANCHOR_MAX, DESCRIPTION_MAX, TITLE_MAX, as_selector, clean_text
from crawler.language import detect_language, hashtags, merge_topics
from crawler.urls import canonical_url, x_space_url
from portal.catalog.records import SpaceRecord

_HANDLE = re.compile(r"(?<![\w@/])@([A-Za-z0-9_]{1,30})\b")
# Link texts that say nothing about the space they point to.
_EMPTY_ANCHORS = frozenset({"", "here", "link", "this", "join", "listen", "click here"})
_URL_LIKE = re.compile(r"^(https?://|www\.|x\.com/|twitter\.com/)", re.IGNORECASE)
# Elements that usually hold one post, comment or list entry: the sharing context.
_POST_TAGS = frozenset({"article", "li", "blockquote", "p", "td", "section", "div", "dd"})
_CONTEXT_LEVELS = 4
_CONTEXT_MAX = 2000


@dataclass
class Link:
    """A link on a page: where it points (canonical) and its anchor text."""

    url: str
    text: str = ""


def page_links(page: str | Selector, url: str) -> list[Link]:
    """Return every http(s) link on the page, canonical, with anchor text, in order."""
    sel = as_selector(page)
    links: dict[str, Link] = {}
    for anchor in sel.xpath("//a[@href]"):
        target = canonical_url(anchor.attrib["href"], url)
        if target and target not in links:
            text = clean_text(" ".join(anchor.xpath(".//text()").getall()), ANCHOR_MAX)
            links[target] = Link(target, text)
    return list(links.values())


def x_space_links(page: str | Selector, url: str) -> list[tuple[SpaceRecord, str]]:
    """Return a provisional record and the anchor text for each X Spaces link on the page."""
    sel = as_selector(page)
    found: dict[str, tuple[SpaceRecord, str]] = {}
    for anchor in sel.xpath("//a[@href]"):
        href = anchor.attrib["href"]
        space_url = x_space_url(canonical_url(href, url) or "") or x_space_url(href)
        if not space_url or space_url in found:
            continue
        anchor_text = clean_text(" ".join(anchor.xpath(".//text()").getall()), ANCHOR_MAX)
        context = clean_text(sharing_context(anchor, anchor_text), DESCRIPTION_MAX)
        found[space_url] = (provisional_x_record(space_url, anchor_text, context), anchor_text)
    return list(found.values())


def sharing_context(anchor: Selector, anchor_text: str) -> str:
    """Return the text of the post around a link: the nearest enclosing block with more."""
    node = anchor
    for _ in range(_CONTEXT_LEVELS):
        parents = node.xpath("..")
        if not parents:
            break
        node = parents[0]
        tag = node.root.tag if isinstance(node.root.tag, str) else ""
        if tag in ("body", "html"):
            break
        text = " ".join(node.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall())
        if len(text) > _CONTEXT_MAX:
            break  # a page-wide wrapper, not one post
        # A wrapper holding the link alone says nothing more; look one level up.
        if tag in _POST_TAGS and clean_text(text, DESCRIPTION_MAX) != anchor_text:
            return text
    return ""


def provisional_x_record(space_url: str, anchor_text: str, context: str = "") -> SpaceRecord:
    """Return an X space's record with a title and host guessed from the sharing text."""
    meaningful = anchor_text.lower() not in _EMPTY_ANCHORS and not _looks_like_url(anchor_text)
    # Surrounding text often repeats the bare link; drop URL-like words from it.
    context = " ".join(word for word in context.split() if not _looks_like_url(word))
    title = anchor_text if meaningful else context.strip(" :-\u2013\u2014")
    handle = _HANDLE.search(f"{anchor_text} {context}")
    return SpaceRecord(
        url=space_url,
        kind="x",
        title=clean_text(title, TITLE_MAX),
        host_handle=handle.group(1) if handle else "",
        host_url=f"https://x.com/{handle.group(1)}" if handle else "",
        topics=merge_topics(hashtags(anchor_text, context)),
        lang=detect_language(title if meaningful else "", context),
        provisional=True,
    )


def _looks_like_url(text: str) -> bool:
    return bool(_URL_LIKE.match(text.strip()))
