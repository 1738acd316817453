"""Answer oEmbed requests (https://oembed.com) for this portal's space pages."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape

from core.catalog.models import Space
from core.config import Config
from portal.present import embeds_player, host_json, http_url, space_page_url
from portal.security import origin_of

_SPACE_PATH = re.compile(r"^/spaces/(\d{1,18})/?$")
PLAYER_SIZE = (480, 360)
CARD_SIZE = (480, 140)


class BadEmbedUrl(ValueError):
    """The url parameter is missing or is not a web address."""


def space_id_from_url(url: str, config: Config) -> int | None:
    """Return the space id a portal URL names; None if it is not one of our space pages.

    Raise BadEmbedUrl when `url` is not an absolute http(s) address at all.
    """
    text = (url or "").strip()
    if not text or len(text) > 2000:
        raise BadEmbedUrl("give the space page's address as url=, under 2000 characters")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise BadEmbedUrl("url is not a valid address") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise BadEmbedUrl("url must be an absolute http:// or https:// address")
    if origin_of(f"{parts.scheme.lower()}://{parts.netloc.lower()}") != origin_of(
        config.portal_url.lower()
    ):
        return None
    match = _SPACE_PATH.match(parts.path)
    return int(match.group(1)) if match else None


def _fit(size: tuple[int, int], maxwidth: int | None, maxheight: int | None) -> tuple[int, int]:
    width, height = size
    if maxwidth and maxwidth < width:
        width = maxwidth
    if maxheight and maxheight < height:
        height = maxheight
    return width, height


def _card_html(space: Space, config: Config, page: str) -> str:
    host = host_json(space, config)["name"]
    by = f" with {escape(host)}" if host else ""
    badge = f"{config.portal_url}/badge/{space.id}.svg"
    return (
        '<blockquote class="spaces-embed">'
        f'<p><a href="{escape(page)}">{escape(space.title or "Untitled space")}</a>{by}</p>'
        f'<p><img src="{escape(badge)}" alt="Live status" height="20"></p>'
        "</blockquote>"
    )


def oembed_json(
    space: Space, config: Config, *, maxwidth: int | None = None, maxheight: int | None = None
) -> dict[str, Any]:
    """Return the oEmbed "rich" response: the player in an iframe, or a linked card."""
    page = space_page_url(config, space.id)
    title = space.title or "Untitled space"
    if embeds_player(space, config):
        width, height = _fit(PLAYER_SIZE, maxwidth, maxheight)
        html = (
            f'<iframe src="{escape(http_url(space.player_url))}" width="{width}" '
            f'height="{height}" allow="autoplay" frameborder="0" '
            f'title="{escape("Audio player for " + title)}"></iframe>'
        )
    else:
        width, height = _fit(CARD_SIZE, maxwidth, maxheight)
        html = _card_html(space, config, page)
    host = host_json(space, config)
    answer: dict[str, Any] = {
        "version": "1.0",
        "type": "rich",
        "title": title,
        "provider_name": "Spaces",
        "provider_url": config.portal_url + "/",
        "cache_age": 60,
        "html": html,
        "width": width,
        "height": height,
    }
    if host["name"]:
        answer["author_name"] = host["name"]
        answer["author_url"] = host["url"]
    return answer


def badge_snippet(space: Space, config: Config) -> str:
    """Return the HTML a host pastes on their own page: the live badge, linking here."""
    page = space_page_url(config, space.id)
    badge = f"{config.portal_url}/badge/{space.id}.svg"
    alt = f"Live status of {space.title or 'an audio space'} on Spaces"
    image = f'<img src="{escape(badge)}" alt="{escape(alt)}" height="20">'
    return f'<a href="{escape(page)}">{image}</a>'


def embed_snippets(space: Space, config: Config) -> list[tuple[str, str]]:
    """Return (name, HTML) of each way to embed a space: its badge, and its player if any."""
    snippets = [("badge", badge_snippet(space, config))]
    if embeds_player(space, config):
        snippets.append(("player", str(oembed_json(space, config)["html"])))
    return snippets
