"""Text helpers every backend shares: safe query terms, escaped snippets, suggestions."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from core.timeutil import parse_iso

# Markers the engines put around matches: private-use characters (control characters get
# trimmed by some servers) that never survive strip_controls(), so the only ones in an engine's
# output are the ones the engine added.
MARK_START = "\ue000"
MARK_END = "\ue001"

MAX_TERMS = 12
MAX_TERM_LENGTH = 60
SNIPPET_CHARS = 200

# Letters and digits only: everything else (quotes, operators, colons, parentheses,
# asterisks) is a separator, so no engine ever sees its own syntax in user input.
_TERM = re.compile(r"[^\W_]+")
# Controls, our match markers, and lone surrogates (no database driver can encode them).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ue000\ue001\ud800-\udfff]")
_ENDINGS = ("ing", "es", "ed", "s")
_MARKS = re.compile(f"([{MARK_START}{MARK_END}])")


def query_terms(q: str) -> list[str]:
    """Split user input into at most MAX_TERMS lower-case words, free of any syntax."""
    terms: list[str] = []
    for match in _TERM.finditer(q.lower()):
        term = match.group()[:MAX_TERM_LENGTH]
        if term not in terms:
            terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return terms


def has_search_terms(q: str) -> bool:
    """Say whether `q` has anything to search for: a letter or a digit.

    Input of only symbols, emoji or punctuation ("🎷", "!!!", "—") yields no terms, and a
    search without terms would list everything as if it matched.
    """
    return _TERM.search(strip_controls(q)) is not None


def words_only(text: str) -> str:
    """Return just the words of `text`, space separated, tokenised as queries are.

    Engines with their own parsers (PostgreSQL reads tags, paths and e-mail addresses as
    single tokens) then index the same words a query can ask for.
    """
    return " ".join(_TERM.findall(text))


def filter_value(value: str) -> str:
    """Return a filter value as stored: cleaned, trimmed, lower case."""
    return strip_controls(value).strip().lower()


def strip_controls(value: Any) -> str:
    """Return `value` as text without control characters (they would fake match markers)."""
    if value is None:
        return ""
    return _CONTROL.sub(" ", str(value))


def marked_to_html(text: str) -> str:
    """Escape engine output and turn the match markers into balanced <mark> elements."""
    out: list[str] = []
    is_open = False
    for part in _MARKS.split(html.escape(text, quote=True)):
        if part == MARK_START:
            if not is_open:
                out.append("<mark>")
            is_open = True
        elif part == MARK_END:
            if is_open:
                out.append("</mark>")
            is_open = False
        else:
            out.append(part)
    if is_open:
        out.append("</mark>")
    return "".join(out)


def plain_snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """Return the escaped start of `text`, cut at a word boundary, for unmatched hits."""
    text = " ".join(strip_controls(text).split())
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + "…"
    return html.escape(text, quote=True)


def highlight(text: str, terms: Iterable[str], limit: int = SNIPPET_CHARS) -> str:
    """Return an escaped excerpt of `text` with <mark> around words that start with a term.

    Used where the engine's highlighter costs too much (FTS5's snippet() re-runs the
    match per row) or does not escape HTML (PostgreSQL's ts_headline()).
    """
    text = " ".join(strip_controls(text).split())
    words = [t for t in terms if t]
    # The engines stem; a crude cut of common endings lets "podcasts" mark "podcast".
    words += [
        w[: -len(end)]
        for w in words
        for end in _ENDINGS
        if w.endswith(end) and len(w) > len(end) + 2
    ]
    if not words:
        return plain_snippet(text, limit)
    pattern = re.compile(
        r"(?<![^\W_])(?:" + "|".join(re.escape(t) for t in words) + r")[^\W_]*", re.IGNORECASE
    )
    first = pattern.search(text)
    start = 0
    if first and first.start() > limit // 2:
        start = text.rfind(" ", 0, first.start() - limit // 4) + 1
    excerpt = text[start : start + limit]
    if start + limit < len(text):
        excerpt = excerpt.rsplit(" ", 1)[0]
    marked = pattern.sub(lambda m: MARK_START + m.group() + MARK_END, excerpt)
    prefix = "…" if start else ""
    suffix = "…" if start + limit < len(text) else ""
    return prefix + marked_to_html(marked) + suffix


def popularity(listener_count: int) -> float:
    """Return the listener term of the ranking: grows with the log of the audience."""
    return math.log1p(max(listener_count, 0))


def boost(listeners: int, shares: int, featured: bool) -> float:
    """Return the multiplier every backend applies to text relevance.

    Bigger audiences and more recent shares lift a space by the log of their size, so a
    crowd helps without drowning out a better text match; featured spaces get a fixed lift.
    """
    value = (1.0 + 0.25 * popularity(listeners)) * (1.0 + 0.2 * math.log1p(max(shares, 0)))
    return value * (1.5 if featured else 1.0)


def activity_time(doc: dict[str, Any]) -> datetime | None:
    """Return when a space last mattered: started, else scheduled, else last updated."""
    for key in ("started_at", "scheduled_start", "updated_at"):
        value = parse_iso(doc.get(key))
        if value is not None:
            return value
    return None


def epoch(value: str | datetime | None) -> float | None:
    """Return a time as seconds since the epoch (None stays None)."""
    if isinstance(value, str) or value is None:
        value = parse_iso(value)
    return value.timestamp() if value is not None else None


def _has_prefixes(text: str, terms: list[str]) -> bool:
    words = _TERM.findall(text.lower())
    return all(any(word.startswith(term) for word in words) for term in terms)


def pick_suggestions(docs: Iterable[dict[str, Any]], prefix: str, limit: int) -> list[str]:
    """Return distinct titles, topics and host names from `docs` that match `prefix` as typed.

    Every word of the prefix must start a word of the suggestion. `docs` come best first;
    each backend finds them its own way and shares this choice, so they agree.
    """
    terms = query_terms(prefix)
    if not terms:
        return []
    seen: set[str] = set()
    out: list[str] = []
    for doc in docs:
        candidates = [
            doc.get("title") or "",
            *(doc.get("topics") or []),
            # The handle only when there is no display name: both would read as duplicates.
            doc.get("host_name") or doc.get("host_handle"),
        ]
        for text in candidates:
            text = " ".join(strip_controls(text).split())
            if text and text.lower() not in seen and _has_prefixes(text, terms):
                seen.add(text.lower())
                out.append(text)
                if len(out) == limit:
                    return out
    return out


def flat_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Return the columns a database backend stores for a space document, normalised.

    Keys used for filters (handle, lang, topics, state) are lower case; text is cleaned of
    control characters; ranking inputs are precomputed so queries need no functions.
    """
    topics = [t for t in (strip_controls(t).strip().lower() for t in doc.get("topics") or []) if t]
    listeners = max(int(doc.get("listener_count") or 0), 0)
    shares = max(int(doc.get("shares_24h") or 0), 0)
    state = strip_controls(doc.get("state")).strip().lower()
    return {
        "id": int(doc["id"]),
        "title": strip_controls(doc.get("title")),
        "description": strip_controls(doc.get("description")),
        "host_name": strip_controls(doc.get("host_name")),
        "host_handle": strip_controls(doc.get("host_handle")).strip().lower(),
        "topics": list(dict.fromkeys(topics)),
        "lang": strip_controls(doc.get("lang")).strip().lower(),
        "state": state,
        "live": state == "live",
        "featured": bool(doc.get("featured")),
        "listener_count": listeners,
        "popularity": popularity(listeners),
        "shares": shares,
        "boost": boost(listeners, shares, bool(doc.get("featured"))),
        "activity": epoch(activity_time(doc)),
        "scheduled_start": epoch(doc.get("scheduled_start")),
        "version": int(doc.get("version") or 0),
    }


def marked_snippet(row: Any, terms: Iterable[str]) -> str:
    """Return a hit's snippet: the description, else the title, marked where they match.

    `row` maps "title" and "description" to text; the result is escaped, with <mark>.
    """
    for column in ("description", "title"):
        marked = highlight(row[column], terms)
        if "<mark>" in marked:
            return marked
    return plain_snippet(row["description"] or row["title"])
