"""The crawl's link memory behaves the same in one process and shared in Redis."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crawler.linkmemory import LINKERS_PER_TARGET, LinkMemory, LocalLinks, RedisLinks, link_memory

PREFIX = "spaces:crawl:run:test"


@pytest.fixture(params=["local", "redis"])
def memory(request: pytest.FixtureRequest) -> Iterator[LinkMemory]:
    if request.param == "local":
        yield LocalLinks()
        return
    client = request.getfixturevalue("embedded_redis_server")
    client.flushall()
    yield RedisLinks(client, PREFIX, keep_s=60)
    client.flushall()


def test_spaces_are_found_by_every_url_that_led_to_them(memory: LinkMemory) -> None:
    memory.remember_space(["http://a.test/s/1", "http://a.test/r/1"], "http://a.test/s/1")
    found = memory.spaces_for(["http://a.test/r/1", "http://a.test/other", "http://a.test/s/1"])
    assert found == {
        "http://a.test/r/1": "http://a.test/s/1",
        "http://a.test/s/1": "http://a.test/s/1",
    }
    assert memory.spaces_for([]) == {}


def test_linkers_wait_for_their_target_and_are_handed_out_once(memory: LinkMemory) -> None:
    memory.add_linkers(
        "http://a.test/p/1", [("http://a.test/t", "first"), ("http://a.test/u", "u")]
    )
    memory.add_linkers("http://a.test/p/2", [("http://a.test/t", "second")])
    memory.add_linkers("http://a.test/p/1", [("http://a.test/t", "again")])  # first anchor kept
    got = memory.pop_linkers(["http://a.test/t", "http://a.test/t2"])
    assert got == {"http://a.test/p/1": "first", "http://a.test/p/2": "second"}
    assert memory.pop_linkers(["http://a.test/t"]) == {}
    assert memory.pop_linkers(["http://a.test/u"]) == {"http://a.test/p/1": "u"}


def test_linkers_per_target_are_capped(memory: LinkMemory) -> None:
    for n in range(LINKERS_PER_TARGET + 20):
        memory.add_linkers(f"http://a.test/p/{n}", [("http://a.test/t", "")])
    assert len(memory.pop_linkers(["http://a.test/t"])) == LINKERS_PER_TARGET


def test_shared_keys_expire(redis_client) -> None:
    memory = RedisLinks(redis_client, PREFIX, keep_s=60)
    memory.remember_space(["http://a.test/s/1"], "http://a.test/s/1")
    memory.add_linkers("http://a.test/p/1", [("http://a.test/t", "")])
    keys = redis_client.keys(f"{PREFIX}:*")
    assert len(keys) == 2 and all(0 < redis_client.ttl(key) <= 60 for key in keys)


def test_a_crawl_without_a_shared_frontier_keeps_its_memory_in_process() -> None:
    assert isinstance(link_memory({}), LocalLinks)
    shared = link_memory({"SPACES_FRONTIER_PREFIX": PREFIX, "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert isinstance(shared, RedisLinks) and shared.spaces_key == f"{PREFIX}:spaces"
