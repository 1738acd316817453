"""Read the links a page shares: every link with its anchor text, and links to spaces.

A link a platform recognises by its address (an X Space's) is a space whether or not
its page can be read; what the sharing page says around it (the anchor text, the post
it sits in) is handed to the platform for a provisional record.
"""

from __future__ import annotations

from dataclasses import dataclass

from parsel import Selector

from core.catalog.records import SpaceRecord
from core.extract.pages import as_selector
from core.extract.text import ANCHOR_MAX, DESCRIPTION_MAX, clean_text
from core.platforms.registry import canonical_url, recognise

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


def space_links(page: str | Selector, url: str) -> list[tuple[SpaceRecord, str]]:
    """Return a provisional record and the anchor text for each space link on the page.

    These are links a platform recognises by their address alone; spaces known by
    their pages are found when those pages are read.
    """
    sel = as_selector(page)
    found: dict[str, tuple[SpaceRecord, str]] = {}
    for anchor in sel.xpath("//a[@href]"):
        href = anchor.attrib["href"]
        recognised = recognise(canonical_url(href, url)) or recognise(href)
        if recognised is None or recognised[1] in found:
            continue
        platform, space_url = recognised
        anchor_text = clean_text(" ".join(anchor.xpath(".//text()").getall()), ANCHOR_MAX)
        context = clean_text(sharing_context(anchor, anchor_text), DESCRIPTION_MAX)
        found[space_url] = (platform.shared_record(space_url, anchor_text, context), anchor_text)
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
