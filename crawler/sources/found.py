"""Find the spaces a source's posts link to, wherever in a post the link is written."""

from __future__ import annotations

from core.extract.links import html_links, json_links, text_links
from core.extract.text import ANCHOR_MAX, DESCRIPTION_MAX, clean_text
from core.platforms.registry import recognise
from crawler.items import FoundSpace
from crawler.sources.base import Poll, Post


def spaces_in_post(post: Post) -> list[FoundSpace]:
    """Return a provisional space, shared by `post`, for every space link in it.

    Explicit links (facets, cards, embeds) come first, then links in the HTML body and
    in the plain text (a facet's text is often a shortened "x.com/i/spa…"), then any
    URL in the post's JSON.
    """
    links: list[tuple[str, str]] = [(url, "") for url in post.links]
    if post.html:
        links += html_links(post.html, post.url)
    if post.text:
        links += [(url, "") for url in text_links(post.text)]
    if post.data is not None:
        links += [(url, "") for url in json_links(post.data)]
    context = clean_text(post.text or post.html, DESCRIPTION_MAX)
    title = clean_text(post.title, ANCHOR_MAX)
    found: dict[str, FoundSpace] = {}
    for url, anchor in links:
        recognised = recognise(url)
        if recognised is None or recognised[1] in found:
            continue
        platform, link = recognised
        text = clean_text(anchor, ANCHOR_MAX) or title
        record = platform.shared_record(link, text, context)
        found[link] = FoundSpace(record, page_url=post.url, anchor_text=text)
    return list(found.values())


def spaces_in_poll(poll: Poll) -> list[FoundSpace]:
    """Return every space a poll found: read directly, or linked from its posts."""
    items = [FoundSpace(record, page_url=page) for record, page in poll.records]
    for post in poll.posts:
        items += spaces_in_post(post)
    return items
