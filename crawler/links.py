"""Read the links a page shares: every link with its anchor text, and links to spaces.

A link is found wherever it is written: in an href, in the page's OpenGraph or
Twitter-card metadata, or as plain text (see core.extract.links). A link a platform
recognises by its address (an X Space's) is a space whether or not its page can be
read; what the sharing page says around it (the anchor text, the post it sits in) is
handed to the platform for a provisional record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from parsel import Selector

from core.catalog.records import SpaceRecord
from core.extract.links import find_links
from core.extract.pages import as_selector
from core.extract.text import DESCRIPTION_MAX, clean_text
from core.platforms.registry import canonical_url, recognise

# Elements that usually hold one post, comment or list entry: the sharing context.
_POST_TAGS = frozenset({"article", "li", "blockquote", "p", "td", "section", "div", "dd"})
_CONTEXT_LEVELS = 4
_CONTEXT_MAX = 2000
_CONTEXT_TEXT = ".//text()[not(ancestor::script or ancestor::style)]"
_URL_WORD = re.compile(r"\S*(?:https?://|www\.|(?:x|twitter)\.com/)\S*", re.IGNORECASE)
_WORD_CHAR = re.compile(r"[^\W_]")
_DESCRIPTIONS = ("og:description", "twitter:description", "description")


@dataclass
class Link:
    """A link on a page: where it points (canonical) and its anchor text."""

    url: str
    text: str = ""


def read_links(page: str | Selector, url: str) -> tuple[list[tuple[SpaceRecord, str]], list[Link]]:
    """Return the page's space links (see space_links) and all its links (see page_links).

    The page is searched, and each link made canonical, once for both: this runs on
    every page of a crawl.
    """
    sel = as_selector(page)
    here = canonical_url(url)
    spaces: dict[str, tuple[SpaceRecord, str]] = {}
    links: dict[str, Link] = {}
    description: str | None = None
    for found in find_links(sel, url):
        target = canonical_url(found.url)
        if not target:
            continue
        if target != here and target not in links:
            links[target] = Link(target, found.text)
        recognised = recognise(target)
        if recognised is None or recognised[1] in spaces:
            continue
        platform, space_url = recognised
        if found.how == "meta":
            # Metadata about the page: its description is what it says of the space.
            if description is None:
                description = _description(sel)
            context = description
        elif found.how == "text":
            # Plain text with no post blocks around it: the line it is written in.
            context = sharing_context(found.element, "") or found.line
        else:
            context = sharing_context(found.element.getparent(), found.text)
        context = clean_text(context[: DESCRIPTION_MAX * 4], DESCRIPTION_MAX)
        spaces[space_url] = (platform.shared_record(space_url, found.text, context), found.text)
    return list(spaces.values()), list(links.values())


def page_links(page: str | Selector, url: str) -> list[Link]:
    """Return every http(s) link on the page but its own, canonical, with anchor text, in order."""
    return read_links(page, url)[1]


def space_links(page: str | Selector, url: str) -> list[tuple[SpaceRecord, str]]:
    """Return a provisional record and the anchor text for each space link on the page.

    These are links a platform recognises by their address alone; spaces known by
    their pages are found when those pages are read.
    """
    return read_links(page, url)[0]


def sharing_context(start: Any, anchor_text: str) -> str:
    """Return the text of the post a link sits in: from `start` up, the nearest block with more.

    `start` is the lxml element the link is written in (an anchor's parent, or the
    block whose text holds a plain-text link); `anchor_text` is the link's own text.
    """
    node = start
    for _ in range(_CONTEXT_LEVELS):
        if node is None:
            break
        tag = node.tag if isinstance(node.tag, str) else ""
        if tag in ("body", "html", "head"):
            break
        text = " ".join(node.xpath(_CONTEXT_TEXT))
        if len(text) > _CONTEXT_MAX:
            break  # a page-wide wrapper, not one post
        # A wrapper holding the link alone says nothing more; look one level up.
        if tag in _POST_TAGS and _says_more(text, anchor_text):
            return text
        node = node.getparent()
    return ""


def _says_more(text: str, anchor_text: str) -> bool:
    """Say whether a block's text has words besides the link's own text and bare URLs."""
    rest = clean_text(text, DESCRIPTION_MAX)
    if anchor_text:
        rest = rest.replace(anchor_text, " ", 1)
    return bool(_WORD_CHAR.search(_URL_WORD.sub(" ", rest)))


def _description(sel: Selector) -> str:
    for name in _DESCRIPTIONS:
        value = sel.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').get()
        if value:
            return str(value)
    return ""
