"""Bluesky sources: searches and author feeds read through the XRPC API of a local AppView."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timedelta
from typing import TypeVar

import pytest

from bench.peers.bluesky_server import BlueskyServer, link_facet
from core.extract.links import text_links
from core.platforms.registry import recognise
from crawler.sources.base import Poll, Post, SourceSpec
from crawler.sources.bluesky import (
    MARGIN,
    BlueskyReader,
    format_time,
    parse_cursor,
    parse_time,
)
from crawler.sources.errors import SourceError
from crawler.sources.found import spaces_in_post
from crawler.sources.http import Http

T = TypeVar("T")
ALLOW = ("127.0.0.1",)
UA = "SpacesBot/1.0 (+http://127.0.0.1/about)"
SPACE = "https://x.com/i/spaces/1OdKrBnaEPXKX"
OTHER = "https://x.com/i/spaces/1YpKkgVgevjKj"
THIRD = "https://x.com/i/spaces/1MnGnkPXYLQJO"
READER = BlueskyReader()
SEARCH = "app.bsky.feed.searchPosts"
FEED = "app.bsky.feed.getAuthorFeed"


@pytest.fixture
def server() -> Iterator[BlueskyServer]:
    running = BlueskyServer().start()
    yield running
    running.stop()


def run(steps: Callable[[Http], Awaitable[T]], allow: tuple[str, ...] = ALLOW) -> T:
    """Run `steps` with one guarded HTTP client, as one poll runner would hold it."""

    async def main() -> T:
        async with Http.session_for(allow) as session:
            return await steps(Http(session, allow, user_agent=UA))

    return asyncio.run(main())


def spec_for(url: str, query: str = "", cursor: str = "") -> SourceSpec:
    stored = READER.source_url(url, query)
    return SourceSpec(url=stored, kind="bluesky", query=query, cursor=cursor)


def poll(url: str, query: str = "", cursor: str = "", allow: tuple[str, ...] = ALLOW) -> Poll:
    spec = spec_for(url, query, cursor)
    return run(lambda http: READER.poll(spec, http), allow)


def failure(url: str, query: str = "", allow: tuple[str, ...] = ALLOW) -> SourceError:
    with pytest.raises(SourceError) as raised:
        poll(url, query, allow=allow)
    return raised.value


def spaces_in(posts: list[Post]) -> list[str]:
    """Return the space links the posts carry, found as the poll runner finds them."""
    urls = [url for post in posts for url in text_links(post.text) + post.links]
    return list(dict.fromkeys(hit[1] for url in urls if (hit := recognise(url)) is not None))


def permalink(post: dict) -> str:
    return f"https://bsky.app/profile/{post['author']['handle']}/post/{post['uri'].rsplit('/')[-1]}"


def test_a_search_finds_links_in_text_facets_and_embeds(server: BlueskyServer) -> None:
    ann = server.add_profile("ann.test")
    bob = server.add_profile("bob.example.com")
    cut = "Live spaces now: x.com/i/spa…"  # the text shows the link cut short
    by_facet = server.publish(ann, cut, facets=[link_facet(cut, "x.com/i/spa…", SPACE)])
    by_embed = server.publish(bob, "spaces tonight", external=OTHER)
    with_quote = server.publish(ann, "spaces, see above", external=THIRD, quote=by_facet)
    server.publish(bob, f"spaces in plain text {SPACE}?s=20")
    server.publish(bob, "spaces look-alike https://x.com/i/spaces/ and x.com/bob/status/1")
    server.publish(bob, "nothing to see")

    found = poll(server.base, "spaces")

    assert spaces_in(found.posts) == [SPACE, OTHER, THIRD]
    assert [post.url for post in found.posts[:3]] == [
        permalink(by_facet), permalink(by_embed), permalink(with_quote)
    ]  # fmt: skip
    assert found.posts[0].url.startswith("https://bsky.app/profile/ann.test/post/")
    assert text_links(found.posts[0].text) == []  # only the facet has the whole link
    assert server.asked(SEARCH) == [{"q": "spaces", "limit": "50", "sort": "latest"}]


def test_the_next_search_asks_only_for_posts_since_the_newest_read(
    server: BlueskyServer,
) -> None:
    ann = server.add_profile("ann.test")
    server.publish(ann, "spaces", external=SPACE)

    async def polls(http: Http) -> list[Poll]:
        spec = spec_for(server.base, "spaces")
        done = [await READER.poll(spec, http)]
        server.publish(ann, "more spaces", external=OTHER)
        for _ in range(2):  # the new post, then nothing new
            spec = dataclasses.replace(spec, cursor=done[-1].cursor or "")
            done.append(await READER.poll(spec, http))
        return done

    done = run(polls)

    assert [spaces_in(one.posts) for one in done] == [[SPACE], [OTHER], []]
    since = [parse_cursor(one.cursor or "")[0] for one in done]
    assert since[0] is not None and since[1] is not None and since[1] > since[0]
    assert since[2] == since[1]
    asked = server.asked(SEARCH)
    assert len(asked) == 3 and "since" not in asked[0]
    # Each later search starts a minute below the newest post read, for late clocks.
    for query, before in zip(asked[1:], done, strict=False):
        assert parse_time(query["since"]) == parse_cursor(before.cursor or "")[0] - MARGIN


def test_a_late_post_sorted_below_the_newest_read_is_still_found(server: BlueskyServer) -> None:
    ann = server.add_profile("ann.test")
    server.publish(ann, "spaces", external=SPACE)
    first = poll(server.base, "spaces")
    late = server.publish(ann, "spaces late", external=OTHER)
    # Its poster's clock was behind: it sorts a second before the post read first.
    read = datetime.fromisoformat(server.posts[0]["record"]["createdAt"])
    late["record"]["createdAt"] = format_time(read - timedelta(seconds=1))

    found = poll(server.base, "spaces", first.cursor or "")

    assert spaces_in(found.posts) == [OTHER]


def test_a_burst_of_posts_is_read_page_by_page_down_to_what_was_read(
    server: BlueskyServer,
) -> None:
    ann = server.add_profile("ann.test")
    server.publish(ann, "spaces warm up")
    cursor = poll(server.base, "spaces").cursor or ""
    burst = [server.publish(ann, f"spaces room {n}") for n in range(120)]

    found = poll(server.base, "spaces", cursor)

    assert [post.text for post in found.posts] == [post["record"]["text"] for post in burst]
    assert [query.get("cursor") for query in server.asked(SEARCH)[1:]] == [None, "50", "100"]


def test_an_author_feed_reads_posts_and_reposts_and_stops_at_what_was_read(
    server: BlueskyServer,
) -> None:
    ann = server.add_profile("ann.test")
    bob = server.add_profile("bob.test")
    shared = server.publish(bob, "join", external=SPACE)
    server.repost(ann, shared)
    own = server.publish(ann, "mine", external=OTHER)
    url = f"{server.base}/profile/ann.test"

    first = poll(url)
    for n in range(60):
        server.publish(ann, f"chatter {n}")
    later = poll(url, cursor=first.cursor or "")

    assert [post.url for post in first.posts] == [permalink(shared), permalink(own)]
    assert spaces_in(first.posts) == [SPACE, OTHER]
    assert [post.text for post in later.posts] == [f"chatter {n}" for n in range(60)]
    asked = server.asked(FEED)
    assert asked[0] == {"actor": "ann.test", "limit": "50"}
    assert len(asked) == 3 and "cursor" in asked[2]  # two pages reach what was read


def test_unknown_actors_are_gone_and_errors_keep_their_reason(server: BlueskyServer) -> None:
    # The AppView answers an unknown actor 400 InvalidRequest "Profile not found".
    assert failure(f"{server.base}/profile/nobody.test").reason == "gone"
    assert server.asked(FEED) == [{"actor": "nobody.test", "limit": "50"}]
    server.answer(
        SEARCH, 500, '{"error": "InternalServerError", "message": "Internal Server Error"}'
    )
    assert failure(server.base, "spaces").reason == "http_5xx"
    server.answer(SEARCH, 400, '{"error": "BadQueryString", "message": "bad query"}')
    assert failure(server.base, "spaces").reason == "http_4xx"
    server.answer(SEARCH, 200, "<html>upstream gateway</html>", "text/html")
    assert failure(server.base, "spaces").reason == "parse"
    server.answer(SEARCH, 200, '{"posts": {"not": "a list"}}')
    assert failure(server.base, "spaces").reason == "parse"


def test_a_search_without_a_query_says_what_to_give(server: BlueskyServer) -> None:
    error = failure(server.base)
    assert error.reason == "parse" and "query" in str(error)
    assert server.requests == []


def test_a_service_at_a_private_address_is_never_asked(server: BlueskyServer) -> None:
    assert failure(server.base, "spaces", allow=()).reason == "blocked_address"
    profile = f"http://localhost:{server.port}/profile/ann.test"
    assert failure(profile, allow=()).reason == "blocked_address"
    assert failure("http://10.0.0.7", "spaces", allow=()).reason == "blocked_address"
    assert server.requests == []


def test_it_claims_profiles_and_searches_and_keeps_the_query_in_the_url() -> None:
    for url in (
        "https://bsky.app/profile/ann.bsky.social",
        "https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur",
        "https://public.api.bsky.app",
        "https://appview.example/xrpc/app.bsky.feed.searchPosts?q=spaces",
    ):
        assert READER.claims(url), url
    for url in (
        "https://example.com/profile/john",
        "https://example.com/",
        "https://mastodon.social/@ann",
        "https://x.com/i/spaces/1OdKrBnaEPXKX",
    ):
        assert not READER.claims(url), url
    base = "https://public.api.bsky.app"
    one, two = READER.source_url(base, "x.com/i/spaces"), READER.source_url(base, "audio rooms")
    assert one == f"{base}/xrpc/app.bsky.feed.searchPosts?q=x.com%2Fi%2Fspaces"
    assert two == f"{base}/xrpc/app.bsky.feed.searchPosts?q=audio%20rooms"
    assert READER.claims(one) and READER.source_url(one, "") == one
    assert READER.source_url("https://bsky.app/search?q=x.com%2Fi%2Fspaces", "") == one
    assert READER.source_url("https://bsky.app/profile/@Ann.BSKY.social/", "") == (
        "https://bsky.app/profile/ann.bsky.social"
    )


def test_a_display_cut_short_with_dots_is_no_space_of_its_own() -> None:
    shown = SPACE.removeprefix("https://")[:24] + "..."
    post = Post(url="https://bsky.app/profile/a.test/post/1", text=f"Live {shown}", links=[SPACE])
    assert [item.record.url for item in spaces_in_post(post)] == [SPACE]
    # Without the facet's full link, the dots are only the end of a sentence.
    alone = Post(url="https://bsky.app/profile/a.test/post/2", text=f"Live at {SPACE}...")
    assert [item.record.url for item in spaces_in_post(alone)] == [SPACE]
