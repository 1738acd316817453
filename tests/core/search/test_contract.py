"""The behaviour every search backend promises, checked against each one available."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from core.search.base import SearchBackend, SearchQuery, SearchResult
from core.timeutil import isoformat, utcnow

NOW = utcnow()


def doc(id: int, title: str = "", **fields: Any) -> dict[str, Any]:
    """Return a space document with quiet defaults: ended, no listeners, a day old."""
    base: dict[str, Any] = {
        "id": id,
        "title": title or f"Space number {id}",
        "description": "",
        "host_name": f"Host {id}",
        "host_handle": f"host{id}",
        "topics": [],
        "lang": "en",
        "state": "ended",
        "platform": "rooms",
        "listener_count": 0,
        "started_at": isoformat(NOW - timedelta(days=1)),
        "scheduled_start": None,
        "ended_at": None,
        "updated_at": isoformat(NOW - timedelta(days=1)),
        "featured": False,
        "shares_24h": 0,
        "version": 1,
    }
    base.update(fields)
    return base


def ids(result: SearchResult) -> list[int]:
    return [hit.id for hit in result.hits]


def search(backend: SearchBackend, **kw: Any) -> SearchResult:
    return backend.search(SearchQuery(**kw))


@pytest.fixture
def catalog_docs(backend: SearchBackend) -> SearchBackend:
    """A small, varied index: live, scheduled and ended spaces in two languages."""
    backend.index(
        [
            doc(
                1,
                "Morning jazz session",
                state="live",
                listener_count=40,
                topics=["music", "jazz"],
                host_handle="ella",
                host_name="Ella Fitz",
            ),
            doc(
                2,
                "Jazz history podcast",
                description="From bebop to fusion",
                topics=["music", "history"],
                lang="fr",
                host_handle="miles",
            ),
            doc(
                3,
                "Startup founders talk",
                state="live",
                listener_count=12,
                topics=["tech"],
                host_handle="ella",
                host_name="Ella Fitz",
            ),
            doc(
                4,
                "Rust and Python tooling",
                state="scheduled",
                scheduled_start=isoformat(NOW + timedelta(hours=5)),
                topics=["tech"],
            ),
            doc(
                5,
                "Gardening questions",
                state="scheduled",
                scheduled_start=isoformat(NOW + timedelta(hours=1)),
                topics=["garden"],
                lang="fr",
            ),
        ]
    )
    return backend


def test_index_then_replace(backend: SearchBackend) -> None:
    backend.index([doc(1, "Morning jazz")])
    assert ids(search(backend, q="jazz")) == [1]
    backend.index([doc(1, "Evening blues")])
    assert search(backend, q="jazz").total == 0
    assert ids(search(backend, q="blues")) == [1]
    assert search(backend).total == 1


def test_ensure_is_idempotent_and_keeps_documents(backend: SearchBackend) -> None:
    backend.index([doc(1, "Morning jazz")])
    backend.ensure()
    backend.ensure()
    assert ids(search(backend, q="jazz")) == [1]


def test_remove_ignores_unknown_ids(backend: SearchBackend) -> None:
    backend.index([doc(1, "Morning jazz"), doc(2, "Jazz at noon")])
    backend.remove([1, 999])
    assert ids(search(backend, q="jazz")) == [2]
    backend.remove([])


def test_clear_empties_the_index(catalog_docs: SearchBackend) -> None:
    catalog_docs.clear()
    assert search(catalog_docs).total == 0
    assert catalog_docs.suggest("jaz") == []
    catalog_docs.index([doc(9, "Back again")])
    assert ids(search(catalog_docs, q="again")) == [9]


def test_words_match_by_stem_and_last_word_by_prefix(catalog_docs: SearchBackend) -> None:
    assert ids(search(catalog_docs, q="podcasts")) == [2]
    assert set(ids(search(catalog_docs, q="jaz"))) == {1, 2}
    assert ids(search(catalog_docs, q="jazz history")) == [2]
    assert search(catalog_docs, q="jazz gardening").total == 0


def test_searches_host_topics_and_description(catalog_docs: SearchBackend) -> None:
    assert set(ids(search(catalog_docs, q="Fitz"))) == {1, 3}
    assert ids(search(catalog_docs, q="garden")) == [5]
    assert ids(search(catalog_docs, q="bebop")) == [2]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"state": "live"}, {1, 3}),
        ({"state": "scheduled"}, {4, 5}),
        ({"state": "ended"}, {2}),
        ({"lang": "fr"}, {2, 5}),
        ({"lang": "FR"}, {2, 5}),
        ({"topic": "tech"}, {3, 4}),
        ({"topic": "Music"}, {1, 2}),
        ({"host": "ella"}, {1, 3}),
        ({"host": "nobody"}, set()),
        ({"state": "live", "topic": "music"}, {1}),
        ({"q": "jazz", "lang": "fr"}, {2}),
    ],
)
def test_filters(catalog_docs: SearchBackend, filters: dict, expected: set[int]) -> None:
    result = search(catalog_docs, **filters)
    assert set(ids(result)) == expected
    assert result.total == len(expected)


def test_facets_count_the_filtered_matches(catalog_docs: SearchBackend) -> None:
    facets = search(catalog_docs).facets
    assert facets["state"] == {"live": 2, "scheduled": 2, "ended": 1}
    assert facets["lang"] == {"en": 3, "fr": 2}
    assert facets["topic"] == {"music": 2, "tech": 2, "jazz": 1, "history": 1, "garden": 1}
    facets = search(catalog_docs, q="jazz").facets
    assert facets["state"] == {"live": 1, "ended": 1}
    assert facets["topic"] == {"music": 2, "jazz": 1, "history": 1}
    facets = search(catalog_docs, state="scheduled").facets
    assert facets == {
        "state": {"scheduled": 2},
        "lang": {"en": 1, "fr": 1},
        "topic": {"garden": 1, "tech": 1},
    }
    assert search(catalog_docs, topic="music").facets == {
        "state": {"ended": 1, "live": 1},
        "lang": {"en": 1, "fr": 1},
        "topic": {"music": 2, "history": 1, "jazz": 1},
    }
    assert search(catalog_docs, topic="music", state="live").facets["topic"] == {
        "jazz": 1,
        "music": 1,
    }
    assert search(catalog_docs, q="nothingmatches").facets == {"state": {}, "lang": {}, "topic": {}}


def test_sort_by_listeners(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, listener_count=5),
            doc(2, listener_count=50, state="live"),
            doc(3, listener_count=20),
        ]
    )
    assert ids(search(backend, sort="listeners")) == [2, 3, 1]


def test_sort_by_recent(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(i, started_at=isoformat(NOW - timedelta(hours=h)))
            for i, h in ((1, 30), (2, 2), (3, 10))
        ]
    )
    assert ids(search(backend, sort="recent")) == [2, 3, 1]


def test_sort_starting_puts_the_nearest_scheduled_first(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, state="live", listener_count=100),
            doc(2, state="scheduled", scheduled_start=isoformat(NOW + timedelta(days=2))),
            doc(3, state="scheduled", scheduled_start=isoformat(NOW + timedelta(minutes=30))),
            doc(4, state="ended", scheduled_start=isoformat(NOW - timedelta(days=3))),
        ]
    )
    assert ids(search(backend, sort="starting"))[:2] == [3, 2]
    assert ids(search(backend, sort="starting", state="scheduled")) == [3, 2]


def test_pages_cover_every_match_once(backend: SearchBackend) -> None:
    backend.index([doc(i, f"Weekly podcast {i}", listener_count=i) for i in range(1, 26)])
    seen: list[int] = []
    for page in (1, 2, 3):
        result = search(backend, q="podcast", page=page, per_page=10)
        assert result.total == 25
        seen += ids(result)
    assert len(ids(search(backend, q="podcast", page=3, per_page=10))) == 5
    assert sorted(seen) == list(range(1, 26))
    assert search(backend, q="podcast", page=4, per_page=10).hits == []
    assert search(backend, q="podcast", page=1000, per_page=100).total == 25


def test_live_comes_before_ended(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(
                1,
                "Jazz jazz jazz",
                description="jazz",
                state="ended",
                listener_count=5000,
                featured=True,
            ),
            doc(2, "Late night talk", description="some jazz later", state="live"),
        ]
    )
    assert ids(search(backend, q="jazz")) == [2, 1]
    assert ids(search(backend)) == [2, 1]


def test_more_listeners_rank_ahead_among_equal_matches(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(i, "Morning jazz", listener_count=n, host_name="Same host")
            for i, n in ((1, 3), (2, 300), (3, 30))
        ]
    )
    assert ids(search(backend, q="jazz")) == [2, 3, 1]
    assert ids(search(backend)) == [2, 3, 1]


def test_featured_spaces_are_boosted(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, "Morning jazz", listener_count=12, host_name="Same host"),
            doc(2, "Morning jazz", listener_count=10, host_name="Same host", featured=True),
        ]
    )
    assert ids(search(backend, q="jazz")) == [2, 1]


def test_better_text_match_wins_at_equal_popularity(backend: SearchBackend) -> None:
    backend.index(
        [
            doc(1, "Gardening club", description="we sometimes talk about jazz"),
            doc(2, "Jazz club", description="standards and improvisation"),
        ]
    )
    assert ids(search(backend, q="jazz")) == [2, 1]


def test_suggest_completes_titles_topics_and_hosts(catalog_docs: SearchBackend) -> None:
    jaz = catalog_docs.suggest("jaz")
    assert {"Morning jazz session", "Jazz history podcast", "jazz"} <= set(jaz)
    assert all(re.search(r"\bjaz", s, re.IGNORECASE) for s in jaz)
    assert jaz[0] == "Morning jazz session"  # live, with listeners
    assert "Ella Fitz" in catalog_docs.suggest("ell")
    assert catalog_docs.suggest("morning ja") == ["Morning jazz session"]
    assert len(catalog_docs.suggest("j", limit=2)) <= 2
    assert catalog_docs.suggest("") == []
    assert catalog_docs.suggest("zzzz") == []


XSS = [
    '<script>alert("jazz")</script>',
    "<img src=x onerror=alert(1)> jazz",
    '"><svg/onload=alert(1)> jazz',
    "jazz &lt;b&gt; already escaped & ampersand",
    "</mark><script>jazz</script><mark>",
]


@pytest.mark.parametrize("payload", XSS)
def test_snippets_are_escaped_with_only_mark_tags(backend: SearchBackend, payload: str) -> None:
    backend.index([doc(1, payload, description=f"Before {payload} after")])
    result = search(backend, q="jazz")
    assert ids(result) == [1]
    snippet = result.hits[0].snippet
    assert "<mark>" in snippet
    bare = snippet.replace("<mark>", "").replace("</mark>", "")
    assert "<" not in bare and ">" not in bare and '"' not in bare
    assert re.search(r"<mark>jazz</mark>", snippet, re.IGNORECASE)
    assert snippet.count("<mark>") == snippet.count("</mark>")


def test_snippet_without_text_query_is_the_escaped_description(backend: SearchBackend) -> None:
    backend.index([doc(1, "Plain", description="<b>bold</b> & more")])
    assert search(backend).hits[0].snippet == "&lt;b&gt;bold&lt;/b&gt; &amp; more"


HOSTILE = [
    "",
    " ",
    '"',
    '""',
    "'",
    "*",
    "**",
    "jazz*",
    "*jazz",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "jazz AND",
    "OR jazz",
    "NOT jazz",
    "NEAR(jazz morning)",
    "jazz NEAR/2 morning",
    "title:jazz",
    "title:",
    ":",
    "{title}: jazz",
    "-jazz",
    "+jazz",
    "^",
    "jazz^5",
    "(",
    ")",
    "((jazz)",
    "jazz)",
    "[",
    "]",
    "{",
    "}",
    "~",
    "jazz~2",
    "/",
    "\\",
    "|",
    "&",
    "!",
    "a:b:c",
    "'; DROP TABLE spaces; --",
    "%",
    "_",
    "jazz%",
    "\x00",
    "\x02\x03",
    "\ue000jazz\ue001",
    "日本語",
    "Ünïcödé café",
    "🎷🎺",
    "ﷺ",
    "\u202e",
    "jazz" * 125,
    "x " * 250,
    "a" * 500,
    "@#$%^&*()",
    "<script>",
    "null",
    "None",
    "1 = 1",
]


def test_hostile_queries_never_raise(catalog_docs: SearchBackend) -> None:
    # One test over the whole list: a fresh index per input would be slow on servers.
    for q in HOSTILE:
        try:
            result = search(catalog_docs, q=q)
            assert result.total >= 0 and len(result.hits) <= 20
            assert isinstance(catalog_docs.suggest(q), list)
            search(
                catalog_docs, q=q, topic=q or None, host=q or None, lang=q or None, sort="listeners"
            )
        except Exception as error:
            raise AssertionError(f"query {q[:40]!r} failed: {error!r}") from error
    assert ids(search(catalog_docs, q='"jazz" (history')) == [2]
    assert ids(search(catalog_docs, q="title:bebop NOT")) == []
