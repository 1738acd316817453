"""Spelling correction every SQL backend shares: nearest known words by edit distance."""

from __future__ import annotations

from collections.abc import Callable, Iterable

# Same thresholds as Elasticsearch's fuzziness AUTO: short words must be typed exactly.
MAX_CANDIDATES = 5000


def max_edits(term: str) -> int:
    """Return how many edits a word of this length may carry (AUTO: 0, 1 or 2)."""
    if len(term) < 3:
        return 0
    return 1 if len(term) <= 5 else 2


def edit_distance(a: str, b: str, limit: int) -> int:
    """Return the Damerau-Levenshtein distance of a and b, or limit + 1 once it is exceeded."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            # A swap of two neighbours counts as one edit, as typists make it.
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def nearest(term: str, candidates: Iterable[tuple[str, int]]) -> str | None:
    """Return the closest candidate (fewest edits, then most documents), or None."""
    limit = max_edits(term)
    best: tuple[int, int, str] | None = None
    for word, docs in candidates:
        if word == term:
            return None
        distance = edit_distance(term, word, limit)
        if distance <= limit and (best is None or (distance, -docs, word) < best):
            best = (distance, -docs, word)
    return best[2] if best else None


def correct(
    terms: list[str],
    is_known: Callable[[str], bool],
    candidates: Callable[[str], Iterable[tuple[str, int]]],
) -> list[str] | None:
    """Return the terms with unknown words replaced by their nearest known ones, or None.

    `is_known(term)` says whether the index has the word; `candidates(term)` lists known
    words sharing its first letter (a fixed prefix keeps the scan small, as
    Elasticsearch's prefix_length 1 does), with their document counts.
    """
    out: list[str] = []
    changed = False
    for term in terms:
        if max_edits(term) == 0 or is_known(term):
            out.append(term)
            continue
        better = nearest(term, candidates(term))
        if better is None:
            out.append(term)
        else:
            out.append(better)
            changed = True
    return out if changed else None


def letter_range(term: str) -> tuple[str, str]:
    """Return the [low, high) range of words sharing the first letter of `term`."""
    first = term[0]
    return first, chr(ord(first) + 1)
