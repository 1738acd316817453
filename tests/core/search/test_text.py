"""What counts as something to search for."""

from __future__ import annotations

import pytest

from core.search.text import has_search_terms, query_terms


@pytest.mark.parametrize("q", ["🎷", "!!!", "—", "()*:\"'", "\x00\x01", "\ue000", "  ", "_"])
def test_symbols_alone_are_nothing_to_search_for(q: str) -> None:
    assert not has_search_terms(q)
    assert query_terms(q) == []  # what every backend would search for: nothing


@pytest.mark.parametrize("q", ["jazz", "🎷 jazz!", "爵士", "42", "Ünïcode", "a"])
def test_any_letter_or_digit_is_something(q: str) -> None:
    assert has_search_terms(q)
    assert query_terms(q)
