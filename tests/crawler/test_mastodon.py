"""Mastodon sources: hashtags and accounts read through the REST API of a local server."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

from bench.peers.mastodon_server import MastodonServer, card, link_html
from core.extract.links import html_links, text_links
from core.platforms.registry import recognise
from crawler.sources.base import Poll, Post, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import HELD_VALIDATORS, Http, Validators
from crawler.sources.mastodon import MastodonReader, parse_cursor

T = TypeVar("T")
ALLOW = ("127.0.0.1",)
UA = "SpacesBot/1.0 (+http://127.0.0.1/about)"
SPACE = "https://x.com/i/spaces/1OdKrBnaEPXKX"
OTHER = "https://x.com/i/spaces/1YpKkgVgevjKj"
READER = MastodonReader()


@pytest.fixture
def server() -> Iterator[MastodonServer]:
    running = MastodonServer().start()
    yield running
    running.stop()


def run(steps: Callable[[Http], Awaitable[T]], allow: tuple[str, ...] = ALLOW) -> T:
    """Run `steps` with one guarded HTTP client, as one poll runner would hold it."""

    async def main() -> T:
        async with Http.session_for(allow) as session:
            return await steps(Http(session, allow, user_agent=UA))

    return asyncio.run(main())


def poll(url: str, cursor: str = "", allow: tuple[str, ...] = ALLOW) -> Poll:
    spec = SourceSpec(url=READER.source_url(url, ""), kind="mastodon", cursor=cursor)
    return run(lambda http: READER.poll(spec, http), allow)


def failure(url: str, allow: tuple[str, ...] = ALLOW) -> SourceError:
    with pytest.raises(SourceError) as raised:
        poll(url, allow=allow)
    return raised.value


def spaces_in(posts: list[Post]) -> list[str]:
    """Return the space links the posts carry, found as the poll runner finds them."""
    found = []
    for post in posts:
        urls = [url for url, _ in html_links(post.html, post.url)]
        urls += text_links(post.text) + post.links
        found += [hit[1] for url in urls if (hit := recognise(url)) is not None]
    return list(dict.fromkeys(found))


def test_a_hashtag_finds_space_links_in_status_html_and_in_cards(server: MastodonServer) -> None:
    ann = server.add_account("ann")
    bob = server.add_account("bob", domain="other.example")
    in_html = server.publish(ann, f"Live now: {link_html(SPACE)}", tags=("Spaces",))
    in_card = server.publish(bob, "Come and listen", tags=("spaces",), card=card(OTHER))
    # Look-alikes share the tag but are not spaces.
    server.publish(ann, link_html("https://x.com/i/spaces/"), tags=("spaces",))
    server.publish(ann, link_html("https://x.com/ann/status/1"), tags=("spaces",))
    server.publish(ann, link_html("https://x.com/i/spaces/1ZZZZZZZZZZZZ"), tags=("cats",))

    found = poll(f"{server.base}/tags/Spaces")

    assert spaces_in(found.posts) == [SPACE, OTHER]
    assert [post.url for post in found.posts[:2]] == [in_html["url"], in_card["url"]]
    assert in_card["url"].startswith("https://other.example/@bob/")
    assert found.cursor == f"since:{server.statuses[3]['id']}"
    assert server.asked("/api/v1/timelines/tag/spaces") == [{"limit": "40"}]


def test_the_next_poll_asks_only_for_statuses_since_the_newest_read(
    server: MastodonServer,
) -> None:
    ann = server.add_account("ann")
    first = server.publish(ann, link_html(SPACE), tags=("spaces",))
    url = f"{server.base}/tags/spaces"

    async def polls(http: Http) -> list[Poll]:
        spec = SourceSpec(url=url, kind="mastodon")
        done = [await READER.poll(spec, http)]
        server.publish(ann, link_html(OTHER), tags=("spaces",))
        for _ in range(3):  # the new status, then nothing new twice
            spec = dataclasses.replace(spec, cursor=done[-1].cursor or "")
            done.append(await READER.poll(spec, http))
        return done

    done = run(polls)

    assert [spaces_in(one.posts) for one in done] == [[SPACE], [OTHER], [], []]
    asked = server.asked("/api/v1/timelines/tag/spaces")
    assert [query.get("since_id") for query in asked] == [
        None, first["id"], server.statuses[1]["id"], server.statuses[1]["id"],
    ]  # fmt: skip
    # Asked again unchanged, the timeline answers 304 to the ETag it gave.
    assert done[3].status == 304
    assert done[3].cursor == done[2].cursor


def test_a_burst_bigger_than_a_page_is_read_down_the_link_header(server: MastodonServer) -> None:
    ann = server.add_account("ann")
    server.publish(ann, "warming up", tags=("spaces",))
    url = f"{server.base}/tags/spaces"
    cursor = poll(url).cursor or ""
    for n in range(45):
        server.publish(ann, f"room {n}", tags=("spaces",))

    found = poll(url, cursor)

    burst = server.statuses[1:]
    assert [post.url for post in found.posts] == [status["url"] for status in burst]
    asked = server.asked("/api/v1/timelines/tag/spaces")[1:]
    # The first page holds the newest 40; the next one goes below its oldest, down to
    # the status read before.
    since = parse_cursor(cursor)[1]
    assert asked == [
        {"limit": "40", "since_id": since},
        {"limit": "40", "since_id": since, "max_id": burst[5]["id"]},
    ]
    assert parse_cursor(found.cursor or "")[1] == burst[-1]["id"]


def test_an_account_is_looked_up_once_and_its_boosts_read(server: MastodonServer) -> None:
    host = server.add_account("host")
    guest = server.add_account("guest", domain="far.example")
    shared = server.publish(guest, "Tonight", card=card(SPACE))
    server.publish(host, "", reblog=shared)
    own = server.publish(host, f"Mine: {link_html(OTHER)}", in_reply_to=shared)
    url = f"{server.base}/@Host"

    first = poll(url)
    later = poll(url, first.cursor or "")

    assert [post.url for post in first.posts] == [shared["url"], own["url"]]
    assert spaces_in(first.posts) == [SPACE, OTHER]
    assert parse_cursor(first.cursor or "") == (host["id"], own["id"])
    assert later.posts == []
    assert [q["acct"] for q in server.asked("/api/v1/accounts/lookup")] == ["host"]
    statuses = server.asked(f"/api/v1/accounts/{host['id']}/statuses")
    assert [q.get("since_id") for q in statuses] == [None, own["id"]]
    assert statuses[0]["exclude_replies"] == "false"


def test_a_remote_account_is_looked_up_by_its_whole_address(server: MastodonServer) -> None:
    remote = server.add_account("ann", domain="far.example")
    server.publish(remote, link_html(SPACE))

    found = poll(f"{server.base}/@ann@far.example")

    assert spaces_in(found.posts) == [SPACE]
    assert server.asked("/api/v1/accounts/lookup") == [{"acct": "ann@far.example"}]


def test_an_account_id_that_is_no_more_is_looked_up_again(server: MastodonServer) -> None:
    ann = server.add_account("ann")
    status = server.publish(ann, link_html(SPACE))
    stale = f"id:42|since:{int(status['id']) - 1}"

    found = poll(f"{server.base}/@ann", stale)

    assert spaces_in(found.posts) == [SPACE]
    assert parse_cursor(found.cursor or "") == (ann["id"], status["id"])
    assert [q["acct"] for q in server.asked("/api/v1/accounts/lookup")] == ["ann"]


def test_unknown_tags_and_accounts_are_gone(server: MastodonServer) -> None:
    assert failure(f"{server.base}/tags/nothing").reason == "gone"
    assert failure(f"{server.base}/@nobody").reason == "gone"
    stale = SourceSpec(url=f"{server.base}/@nobody", kind="mastodon", cursor="id:404|since:1")
    with pytest.raises(SourceError) as raised:
        run(lambda http: READER.poll(stale, http))
    assert raised.value.reason == "gone"


def test_server_errors_and_garbage_are_refused_with_their_reason(server: MastodonServer) -> None:
    server.add_account("ann")
    path = "/api/v1/timelines/tag/spaces"
    server.answer(path, 500, '{"error": "Something went wrong"}')
    assert failure(f"{server.base}/tags/spaces").reason == "http_5xx"
    server.answer(path, 200, "<html><body>Maintenance</body></html>", "text/html")
    assert failure(f"{server.base}/tags/spaces").reason == "parse"
    server.answer(path, 200, '{"error": "not a list"}')
    assert failure(f"{server.base}/tags/spaces").reason == "parse"
    server.answer("/api/v1/accounts/lookup", 200, '{"username": "ann"}')
    assert failure(f"{server.base}/@ann").reason == "parse"


def test_a_host_at_a_private_address_is_never_asked(server: MastodonServer) -> None:
    port = server.port
    assert failure(f"{server.base}/tags/spaces", allow=()).reason == "blocked_address"
    assert failure(f"http://localhost:{port}/@ann", allow=()).reason == "blocked_address"
    assert failure("https://10.1.2.3/tags/spaces", allow=()).reason == "blocked_address"
    assert server.requests == []


def test_it_claims_tags_and_accounts_and_stores_them_in_one_spelling() -> None:
    assert READER.claims("https://mastodon.social/tags/Spaces")
    assert READER.claims("https://mastodon.social/@Gargron")
    assert READER.claims("https://mastodon.social/@ann@far.example")
    assert READER.claims("https://chaos.social/tags/Qualit%C3%A4tskatzen")
    for other in (
        "https://www.youtube.com/@channel",
        "https://medium.com/@writer",
        "https://blog.example/tags/python/page/2",
        "https://mastodon.social/about",
        "ftp://mastodon.social/tags/x",
        "https://x.com/i/spaces/1OdKrBnaEPXKX",
    ):
        assert not READER.claims(other), other
    assert READER.source_url("HTTPS://Mastodon.Social/tags/Spaces?x=1", "") == (
        "https://mastodon.social/tags/spaces"
    )
    assert READER.source_url("https://mastodon.social/@Ann@Far.Example/", "") == (
        "https://mastodon.social/@ann@far.example"
    )
    assert READER.source_url("https://chaos.social/tags/Qualit%C3%A4tskatzen", "") == (
        "https://chaos.social/tags/qualit%C3%A4tskatzen"
    )


def test_a_url_that_is_no_tag_or_account_is_refused_with_what_to_give() -> None:
    error = failure("https://mastodon.social/about")
    assert error.reason == "parse" and "/tags/TAG" in str(error)


def test_a_polls_validators_are_kept_only_once_it_says_so(
    server: MastodonServer, redis_client
) -> None:
    # A poll that dies before its spaces are written must not be told "not modified"
    # next time: the validators wait in the poll's hands until its spaces are written.
    ann = server.add_account("ann")
    server.publish(ann, link_html(SPACE), tags=("spaces",))
    spec = SourceSpec(url=READER.source_url(f"{server.base}/tags/spaces", ""), kind="mastodon")

    async def poll_holding(http: Http) -> dict[str, Validators]:
        held: dict[str, Validators] = {}
        HELD_VALIDATORS.set(held)
        await READER.poll(spec, http)
        return held

    async def with_redis(steps: Callable[[Http], Awaitable[T]]) -> T:
        async with Http.session_for(ALLOW) as session:
            return await steps(Http(session, ALLOW, user_agent=UA, redis=redis_client))

    held = asyncio.run(with_redis(poll_holding))
    assert [v.etag for v in held.values()] and redis_client.keys("spaces:validators:*") == []
    # The next poll (the first one's spaces never written) reads the timeline in full.
    again = asyncio.run(with_redis(lambda http: READER.poll(spec, http)))
    assert again.status == 200 and spaces_in(again.posts) == [SPACE]
    assert redis_client.keys("spaces:validators:*") != [], "kept when nothing holds them"
    # Kept, the next one is answered "not modified".
    assert asyncio.run(with_redis(lambda http: READER.poll(spec, http))).status == 304
