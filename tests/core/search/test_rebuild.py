"""Rebuilds never empty search; late writes never overwrite newer ones; typos are caught."""

from __future__ import annotations

import threading
import time

import pytest

from core.search.base import SearchBackend, SearchQuery
from tests.core.search.test_contract import doc, ids, search


def test_rebuild_swaps_in_a_new_index_without_a_failed_or_empty_search(
    backend: SearchBackend,
) -> None:
    backend.index([doc(i, f"Morning jazz {i}", version=1) for i in range(1, 201)])
    failures: list[str] = []
    answered = 0
    stop = threading.Event()

    def query_loop() -> None:
        nonlocal answered
        while not stop.is_set():
            try:
                result = backend.search(SearchQuery(q="jazz", per_page=5))
                if result.total == 0 or not result.hits:
                    failures.append(f"empty answer: total {result.total}")
                answered += 1
            except Exception as error:  # every failure is recorded, then asserted on
                failures.append(repr(error))

    def batches():
        for start in range(1, 301, 50):
            time.sleep(0.02)  # let queries run while the new index fills
            yield [doc(i, f"Evening jazz {i}", version=2) for i in range(start, start + 50)]

    threads = [threading.Thread(target=query_loop) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        assert backend.rebuild(batches()) == 300
        time.sleep(0.1)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert failures == []
    assert answered > 5
    assert search(backend, q="jazz").total == 300
    assert search(backend, q="morning").total == 0
    assert all(s.startswith("Evening jazz") for s in backend.suggest("eveni"))
    assert backend.suggest("eveni")


def test_rebuild_twice_and_then_write(backend: SearchBackend) -> None:
    for round_ in (1, 2):
        backend.rebuild([[doc(1, f"Round {round_} podcast", version=round_)]])
    backend.index([doc(2, "Another podcast", version=1)])
    backend.ensure()
    assert set(ids(search(backend, q="podcast"))) == {1, 2}
    assert search(backend).facets["state"] == {"ended": 2}


def test_an_older_version_never_overwrites_a_newer_one(backend: SearchBackend) -> None:
    backend.index([doc(1, "Current title", version=5)])
    backend.index([doc(1, "Stale title", version=3)])
    assert ids(search(backend, q="current")) == [1]
    assert search(backend, q="stale").total == 0
    backend.index([doc(1, "Same version replayed", version=5)])
    assert ids(search(backend, q="replayed")) == [1]
    backend.index([doc(1, "Newer title", version=6, state="live")])
    assert ids(search(backend, q="newer")) == [1]
    assert search(backend).facets["state"] == {"live": 1}


def test_a_typo_finds_the_word_and_says_did_you_mean(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, "Morning jazz session", topics=["music"]),
            doc(2, "Python programming club", topics=["tech"]),
        ]
    )
    result = search(backend, q="pyhton")
    assert ids(result) == [2]
    assert result.did_you_mean == "python"
    assert search(backend, q="jazz").did_you_mean is None
    assert search(backend, q="qqqqqqqq").total == 0


def test_fts5_retries_a_read_that_met_the_swap_on_the_drivers_own_cursor() -> None:
    # The candidate query runs on sqlite3's cursor, which raises sqlite3's error, not
    # SQLAlchemy's: both kinds must get the retry that reads the swapped-in schema.
    import sqlite3

    from core.search.fts5 import _retrying

    calls = []

    def read() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise sqlite3.OperationalError("vtable constructor failed: fts_spaces")
        return "answer"

    assert _retrying(read) == "answer"
    assert len(calls) == 2

    def broken() -> str:
        raise sqlite3.OperationalError("disk I/O error")

    with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
        _retrying(broken)
