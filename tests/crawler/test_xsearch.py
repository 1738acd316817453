"""X Spaces search as a source, against a local server speaking the X API v2."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import aiohttp
import pytest
import redis
from sqlalchemy import select

from bench.peers.x_server import TOKEN, XServer
from core.catalog.models import Sighting, Space
from core.catalog.states import State
from core.config import Config
from core.platforms import x as xapi
from core.services import Services
from crawler.sources import READERS, reader_for_url
from crawler.sources.base import Poll, SourceSpec
from crawler.sources.errors import SourceError
from crawler.sources.http import Http
from crawler.sources.xsearch import XSearchReader
from worker.crawls import crawl

ANN = {"id": "2244994945", "name": "Ann <b>Lee</b>", "username": "annlee", "verified": True}


@pytest.fixture
def x_server() -> Iterator[XServer]:
    server = XServer().start()
    yield server
    server.stop()


@pytest.fixture
def x_config(config: Config, x_server: XServer) -> Config:
    """A configuration whose X API is the local server, with a token for it."""
    return config.with_(x_bearer_token=TOKEN, x_api_url=x_server.base)


def poll(config: Config, connection: redis.Redis | None, query: str = "jazz") -> Poll:
    """Poll an X search source once, as the poll runner does."""
    spec = SourceSpec(url="", kind="xsearch", query=query)

    async def run() -> Poll:
        async with (
            Http.session_for(config.crawl_allow) as session,
            aiohttp.ClientSession() as api,
        ):
            http = Http(session, config.crawl_allow, user_agent=config.user_agent,
                        config=config, redis=connection, api_session=api)  # fmt: skip
            return await READERS["xsearch"].poll(spec, http)

    return asyncio.run(run())


def test_a_search_reads_each_space_with_its_creator_as_host(
    x_server: XServer, x_config: Config, redis_client: redis.Redis
) -> None:
    x_server.add_space(
        "1DXxyRYNejbKM",
        creator=ANN,
        state="live",
        title="Late night #Jazz talk",
        participant_count=245,
        started_at="2026-11-23T10:00:00.000Z",
        host_ids=[ANN["id"]],
        speaker_ids=[ANN["id"], "783214"],
        lang="en",
        is_ticketed=False,
    )
    x_server.add_space(
        "1YqJDqWYNQDGW", state="scheduled", title="Jazz at dawn",
        scheduled_start="2030-01-01T09:00:00.000Z",
    )  # fmt: skip
    x_server.add_space("1EndedJazzAA", state="ended", title="Old jazz")
    x_server.add_space("1OtherTopic1", state="live", title="Football")

    found = poll(x_config, redis_client)

    [call] = x_server.calls
    assert call["path"] == "/2/spaces/search" and call["auth"] == f"Bearer {TOKEN}"
    assert (call["query"], call["state"], call["expansions"]) == ("jazz", "all", "creator_id")
    assert {"state", "title", "participant_count", "creator_id", "scheduled_start"} <= set(
        call["space.fields"].split(",")
    )
    assert set(call["user.fields"].split(",")) >= {"name", "username"}
    assert found.posts == [] and found.cursor is None
    assert [page for _, page in found.records] == ["", ""]  # no page shared them
    live, scheduled = (record for record, _ in found.records)
    assert (live.url, live.platform, live.state) == (
        "https://x.com/i/spaces/1DXxyRYNejbKM", "x", State.LIVE,
    )  # fmt: skip
    assert (live.title, live.listener_count, live.speaker_count) == (
        "Late night #Jazz talk",
        245,
        2,
    )
    assert live.started_at == datetime(2026, 11, 23, 10, tzinfo=UTC)
    assert (live.host_name, live.host_handle, live.host_url, live.host_scope) == (
        "Ann Lee", "annlee", "https://x.com/annlee", "x",
    )  # fmt: skip
    assert (live.topics, live.lang, live.provisional) == (["jazz"], "en", False)
    assert (scheduled.state, scheduled.host_handle) == (State.SCHEDULED, "")
    assert scheduled.scheduled_start == datetime(2030, 1, 1, 9, tzinfo=UTC)


def test_no_results_and_odd_items_are_no_spaces(
    x_server: XServer, x_config: Config, redis_client: redis.Redis
) -> None:
    assert poll(x_config, redis_client, "nothing").records == []
    x_server.add_space("1Jazz/../../x", state="live", title="jazz with a bad id")
    x_server.add_space("1JazzWeird01", state="paused", title="jazz in an unknown state")
    [(record, _)] = poll(x_config, redis_client).records
    # Found, but its state is left to the liveness checks.
    assert (record.url, record.state) == ("https://x.com/i/spaces/1JazzWeird01", None)


def test_without_a_token_nothing_is_asked(x_server: XServer, x_config: Config) -> None:
    with pytest.raises(SourceError) as refused:
        poll(x_config.with_(x_bearer_token=""), None)
    assert refused.value.reason == "refused"
    assert "set SPACES_X_BEARER_TOKEN to search X Spaces" in str(refused.value)
    with pytest.raises(SourceError) as no_query:
        poll(x_config, None, query=" ")
    assert no_query.value.reason == "refused" and "--query" in str(no_query.value)
    assert x_server.calls == []


def test_a_refused_token_says_which_setting_to_check(x_server: XServer, x_config: Config) -> None:
    with pytest.raises(SourceError) as refused:
        poll(x_config.with_(x_bearer_token="wrong"), None)
    assert (refused.value.reason, refused.value.status) == ("http_4xx", 401)
    assert "SPACES_X_BEARER_TOKEN" in str(refused.value)
    x_server.status = 503
    with pytest.raises(SourceError) as broken:
        poll(x_config, None)
    assert broken.value.reason == "http_5xx"


def test_429_blocks_search_and_liveness_until_the_reset(
    x_server: XServer, x_config: Config, redis_client: redis.Redis
) -> None:
    x_server.remaining["/2/spaces/search"] = 0
    x_server.reset_at = time.time() + 120
    reset = datetime.fromtimestamp(int(x_server.reset_at), UTC)
    with pytest.raises(SourceError) as limited:
        poll(x_config, redis_client)
    assert limited.value.reason == "rate_limited" and 100 < limited.value.retry_after_s <= 120
    # The liveness client reads the same state: it will not call before the reset either.
    assert xapi.blocked_until(redis_client) == reset
    with pytest.raises(SourceError) as again:
        poll(x_config, redis_client)
    assert again.value.reason == "rate_limited"
    assert len(x_server.calls) == 1, "no call may be made before the window resets"


def test_a_limit_hit_by_liveness_holds_the_search_too(
    x_server: XServer, x_config: Config, redis_client: redis.Redis
) -> None:
    xapi.block_until(redis_client, datetime.fromtimestamp(time.time() + 60, UTC))
    with pytest.raises(SourceError) as limited:
        poll(x_config, redis_client)
    assert limited.value.reason == "rate_limited"
    assert x_server.calls == []


def test_the_last_call_of_a_window_blocks_the_next(
    x_server: XServer, x_config: Config, redis_client: redis.Redis
) -> None:
    x_server.remaining["/2/spaces/search"] = 1
    x_server.reset_at = time.time() + 60
    x_server.add_space("1JazzLast001", state="live", title="jazz")
    assert len(poll(x_config, redis_client).records) == 1
    assert xapi.blocked_until(redis_client) == datetime.fromtimestamp(int(x_server.reset_at), UTC)


def test_source_urls_name_the_search() -> None:
    reader = XSearchReader()
    assert reader.source_url("", "jazz night") == (
        "https://api.x.com/2/spaces/search?query=jazz+night"
    )
    assert reader.source_url("https://API.x.com/", "#jazz") == (
        "https://api.x.com/2/spaces/search?query=%23jazz"
    )
    stored = "https://api.x.com/2/spaces/search?query=jazz"
    assert reader.source_url(stored, "") == stored
    assert reader_for_url(stored) is READERS["xsearch"]
    assert not reader.claims("https://x.com/i/spaces/1DXxyRYNejbKM")
    assert not reader.claims("https://api.x.com/2/spaces?ids=1")


def test_a_search_crawl_lands_its_spaces_in_the_catalog(
    x_server: XServer, x_config: Config, services: Services
) -> None:
    x_server.add_space("1JazzCrawl01", creator=ANN, state="live", title="Jazz club",
                       participant_count=12)  # fmt: skip
    report = crawl([], x_config, kind="xsearch", query="jazz")
    assert [(s["url"], s["state"]) for s in report.spaces] == [
        ("https://x.com/i/spaces/1JazzCrawl01", "live")
    ]
    with services.catalog.session() as session:
        space = session.scalars(select(Space)).one()
        assert (space.title, space.state, space.platform, space.listener_count) == (
            "Jazz club", "live", "x", 12,
        )  # fmt: skip
        assert session.scalars(select(Sighting)).all() == []  # found by search, not shared
