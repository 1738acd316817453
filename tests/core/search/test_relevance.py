"""Relevance on a judged corpus: every backend ranks what should come first, first."""

from __future__ import annotations

import pytest

from core.search.base import SearchBackend, SearchQuery
from tests.core.search.judged import JUDGED, documents, mean_ndcg, ndcg

FLOOR = 0.8


def _top(backend: SearchBackend, q: str, k: int = 10) -> list[int]:
    return [hit.id for hit in backend.search(SearchQuery(q=q, per_page=k)).hits]


def test_ndcg_at_10_is_above_the_floor(backend: SearchBackend) -> None:
    backend.index(documents())
    scores = {q: ndcg(_top(backend, q), grades) for q, grades in JUDGED.items()}
    mean = sum(scores.values()) / len(scores)
    worst = sorted(scores.items(), key=lambda item: item[1])[:3]
    assert mean >= FLOOR, f"{backend.name}: nDCG@10 {mean:.3f}; worst {worst}"


def test_ndcg_tells_a_good_ranking_from_a_bad_one() -> None:
    grades = {1: 3, 2: 2}
    assert ndcg([1, 2, 3], grades) == pytest.approx(1.0)
    assert ndcg([3, 2, 1], grades) < 0.7
    assert mean_ndcg(lambda q: []) == 0.0


def test_embedded_and_elasticsearch_agree_on_the_top_three(
    request: pytest.FixtureRequest,
) -> None:
    from tests.core.search.conftest import build_backend

    with build_backend(request, "fts5") as fts5, build_backend(request, "osmem") as elastic:
        fts5.index(documents())
        elastic.index(documents())
        overlaps = {}
        for q in JUDGED:
            a, b = set(_top(fts5, q, 3)), set(_top(elastic, q, 3))
            overlaps[q] = len(a & b) / max(len(a | b), 1) if a | b else 1.0
    mean = sum(overlaps.values()) / len(overlaps)
    disagree = [q for q, o in overlaps.items() if o < 0.5]
    assert mean >= 0.75, f"top-3 overlap {mean:.2f}; disagree on {disagree}"
