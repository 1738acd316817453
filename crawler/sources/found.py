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
    URL in the post's JSON; a written one that only begins an explicit one is not read.
    """
    links: list[tuple[str, str]] = [(url, "") for url in post.links]
    if post.html:
        links += html_links(post.html, post.url)
    written = text_links(post.text) if post.text else []
    if post.data is not None:
        written += json_links(post.data)
    # A link's display cut short ("x.com/i/spaces/1AbC..." for a facet's full link) is
    # no link of its own: the full one is already here.
    full = [_bare(url) for url, _ in links]
    links += [(url, "") for url in written if not _cut_short(_bare(url), full)]
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


def _bare(url: str) -> str:
    return url.split("://", 1)[-1].removeprefix("www.").lower()


def _cut_short(bare: str, full: list[str]) -> bool:
    return any(other != bare and other.startswith(bare) for other in full)


def spaces_in_poll(poll: Poll) -> list[FoundSpace]:
    """Return every space a poll found: read directly, or linked from its posts."""
    items = [FoundSpace(record, page_url=page) for record, page in poll.records]
    for post in poll.posts:
        items += spaces_in_post(post)
    return items
