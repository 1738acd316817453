"""A loopback corpus of sources of every kind, publishing new spaces (and decoys) on demand.

Each kind is served by the local server that speaks its protocol: a plain HTTP site (a
page with links written as text and as hrefs, an RSS feed with links only in item
bodies, a podcast feed with `<podcast:liveItem>`s), a Mastodon server (a hashtag), a
Bluesky AppView (a search), X API v2 (a Spaces search), a Nostr relay (tagged NIP-53
live activities) and a WebSub hub (an Atom feed it pushes). `publish(kind)` makes one
new space appear on that source, with a look-alike beside it that is not a space, and
returns the space's canonical URL: what the catalog should end up holding.
"""

from __future__ import annotations

import random
import string
import time
from dataclasses import dataclass, field
from html import escape
from urllib.parse import quote

from bench.peers.bluesky_server import BlueskyServer, link_facet
from bench.peers.mastodon_server import MastodonServer, card, link_html
from bench.peers.nostr_relay import TEST_KEY, Relay, activity, sign
from bench.peers.sites import Site
from bench.peers.websub_hub import WebSubHub, atom_feed
from bench.peers.x_server import XServer
from core.platforms.nostr import address_of, space_url
from core.urls import canonical_url

#: The word every search source asks for, and every tagged post carries.
TAG = "spacesbench"
POLLED = ("page", "feed", "podcast", "mastodon", "bluesky", "xsearch")
PUSHED = ("nostr", "websub")
KINDS = POLLED + PUSHED
RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}


@dataclass
class Corpus:
    """The running servers, what each source has published so far, and the sources to add."""

    rng: random.Random = field(default_factory=lambda: random.Random(14))
    site: Site = field(default_factory=lambda: Site("127.0.0.1"))
    mastodon: MastodonServer = field(default_factory=MastodonServer)
    bluesky: BlueskyServer = field(default_factory=BlueskyServer)
    x: XServer = field(default_factory=XServer)
    relay: Relay = field(default_factory=Relay)
    hub: WebSubHub = field(default_factory=WebSubHub)
    posts: dict[str, list[str]] = field(default_factory=dict)  # by kind, as published

    def start(self) -> Corpus:
        """Start every server and publish the sources' first, empty, versions."""
        for server in (self.site, self.mastodon, self.bluesky, self.x, self.relay, self.hub):
            server.start()
        self._account = self.mastodon.add_account("roomhost")
        self._profile = self.bluesky.add_profile("roomhost.bsky.social")
        self._user = {"id": "2244994945", "name": "Room Host", "username": "roomhost"}
        for kind in ("page", "feed", "podcast", "websub"):
            self.posts[kind] = []
            self._render(kind)
        return self

    def stop(self) -> None:
        """Stop every server."""
        for server in (self.site, self.mastodon, self.bluesky, self.x, self.relay, self.hub):
            server.stop()

    def sources(self) -> list[tuple[str, str, str]]:
        """Return (url, kind, query) of each source, as `spaces sources add` would take them."""
        return [
            (f"{self.site.url}/news.html", "page", ""),
            (f"{self.site.url}/feed.xml", "feed", ""),
            (f"{self.site.url}/podcast.xml", "feed", ""),
            (f"{self.mastodon.base}/tags/{TAG}", "mastodon", ""),
            (self.bluesky.base, "bluesky", TAG),
            (self.x.base, "xsearch", TAG),
            (self.relay.url, "nostr", TAG),
            (self.hub.feed_url("news"), "feed", ""),
        ]

    def publish(self, kind: str, n: int) -> str:
        """Publish space number `n` on the source of `kind`; return its canonical URL."""
        if kind == "nostr":
            return self._nostr(n)
        if kind == "podcast":
            guid = f"live-{n}"
            self.posts[kind].append(guid)
            self._render(kind)
            return f"{canonical_url(self.site.url + '/podcast.xml')}#{quote(guid, safe='')}"
        space_id = "1" + "".join(self.rng.choices(string.ascii_letters + string.digits, k=12))
        url = f"https://x.com/i/spaces/{space_id}"
        # Liveness checks of a found X Space ask the X API: it must know the space.
        self.x.add_space(space_id, creator=self._user, state="live", title=f"Room {n}")
        if kind == "xsearch":
            self.x.add_space(space_id, creator=self._user, state="live", title=f"{TAG} {n}")
        elif kind == "mastodon":
            self._mastodon(url, n)
        elif kind == "bluesky":
            self._bluesky(url, n)
        else:
            self.posts[kind].append(space_id)
            self._render(kind)
        return url

    def _mastodon(self, url: str, n: int) -> None:
        decoy = f"https://x.com/roomhost/status/{1_800_000_000 + n}"
        text = f"<p>Live now: {link_html(url)} and yesterday: {link_html(decoy)}</p>"
        self.mastodon.publish(self._account, text, tags=(TAG,), card=card(url))

    def _bluesky(self, url: str, n: int) -> None:
        shown = url.removeprefix("https://")[:24] + "..."
        text = f"Room {n} is live {shown} #{TAG} (not x.com/i/spaces/ itself)"
        self.bluesky.publish(self._profile, text, facets=[link_facet(text, shown, url)])

    def _nostr(self, n: int) -> str:
        event = activity(f"bench-{n}", "live", title=f"Room {n}", topics=(TAG,))
        # A forged copy (altered after signing) must be refused, never listed.
        forged = sign(TEST_KEY, 30311, [["d", f"forged-{n}"], ["t", TAG], ["status", "live"]])
        forged["tags"][0][1] = f"forged-{n}-altered"
        self.relay.publish(forged, event)
        return space_url(address_of(event))

    def _render(self, kind: str) -> None:
        base = self.site.url
        items = self.posts[kind]
        if kind == "page":
            self.site.routes["/news.html"] = _page(base, items)
        elif kind == "feed":
            self.site.routes["/feed.xml"] = (200, RSS, _rss(base, items).encode())
        elif kind == "podcast":
            self.site.routes["/podcast.xml"] = (200, RSS, _podcast(items).encode())
        else:
            url = self.hub.feed_url("news")
            entries = [_atom_entry(base, space_id, n) for n, space_id in enumerate(items)]
            self.hub.feeds["news"] = atom_feed("News", url, self.hub.url, entries)
            if items:
                body = atom_feed("News", url, self.hub.url, entries[-1:]).encode()
                self.hub.publish(url, body)

    def subscribed(self) -> bool:
        """Say whether both push sources have a live subscription (relay and hub)."""
        return self.relay.open_subscriptions() > 0 and bool(self.hub.subscriptions)


def _page(base: str, ids: list[str]) -> str:
    """A news page: links written as bare text, in Markdown, and as hrefs, with look-alikes."""
    shapes = (
        "<p>Tune in: x.com/i/spaces/{id}.</p>",
        "<p>Now [live](https://twitter.com/i/spaces/{id}?s=20)!</p>",
        '<p><a href="https://x.com/i/spaces/{id}/peek">Join the room</a></p>',
    )
    body = "".join(shapes[n % 3].format(id=space_id) for n, space_id in enumerate(ids))
    decoys = "".join(f'<a href="{base}/i/spaces/{space_id}">mirror</a>' for space_id in ids)
    return f"<html><head><title>News</title></head><body>{body}{decoys}</body></html>"


def _rss(base: str, ids: list[str]) -> str:
    """An RSS feed whose items link to posts; the spaces are only in their escaped bodies."""
    items = "".join(
        f"<item><title>Post {n}</title><link>{base}/posts/{n}</link><guid>{base}/posts/{n}</guid>"
        f"<description>{escape(_body(base, space_id))}</description></item>"
        for n, space_id in enumerate(ids)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Blog</title>'
        f"<link>{base}/</link><description>A blog</description>{items}</channel></rss>"
    )


def _body(base: str, space_id: str) -> str:
    return (
        f'<p>We are <a href="https://x.com/i/spaces/{space_id}?s=20">live</a>; '
        f'the <a href="{base}/i/spaces/{space_id}">mirror</a> is not the room.</p>'
    )


def _podcast(guids: list[str]) -> str:
    """A Podcasting 2.0 feed with one liveItem per show, live from a minute ago."""
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    items = "".join(
        f'<podcast:liveItem status="live" start="{start}" end="{end}"><title>Show {guid}</title>'
        f"<description>Live from the studio</description>"
        f'<guid isPermaLink="false">{guid}</guid>'
        f'<enclosure url="https://stream.pod.example/{guid}.mp3" type="audio/mpeg" length="0"/>'
        "</podcast:liveItem>"
        for guid in guids
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
        f"<title>Cast</title><link>https://pod.example/</link><description>A show</description>"
        f"{items}<item><title>Episode 1</title><guid>ep-1</guid></item></channel></rss>"
    )


def _atom_entry(base: str, space_id: str, n: int) -> dict[str, str]:
    return {"id": f"tag:news,{n}", "title": f"Post {n}", "link": f"{base}/news/{n}",
            "html": _body(base, space_id)}  # fmt: skip
