"""Saved searches: keyword alerts that match spaces as they go live."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.models import SavedSearch, SavedSearchHit, Space

MAX_SEARCHES = 50  # per user: alerts, not a data store
_WORD = re.compile(r"\w+")


class SearchError(ValueError):
    """A search that cannot be saved; the message says why."""


def terms(text: str) -> list[str]:
    """Return the words of a query, casefolded; punctuation and operators are dropped."""
    return _WORD.findall(text.casefold())


def save_search(
    session: Session, user_id: int, query: str, *, lang: str = "", topic: str = ""
) -> SavedSearch:
    """Save a keyword alert; the same search again returns the one already saved."""
    query = " ".join(query.split())[:500]
    lang, topic = lang.strip()[:12], topic.strip()[:100]
    if not terms(query) and not topic:
        raise SearchError("Type some words to be alerted about, then save the search.")
    mine = select(SavedSearch).where(SavedSearch.user_id == user_id)
    same = session.scalar(
        mine.where(SavedSearch.query == query, SavedSearch.lang == lang, SavedSearch.topic == topic)
    )
    if same is not None:
        return same
    count = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    if count >= MAX_SEARCHES:
        raise SearchError(f"You can keep up to {MAX_SEARCHES} alerts. Delete one first.")
    saved = SavedSearch(
        user_id=user_id, query=query, lang=lang, topic=topic, feed_token=secrets.token_urlsafe(24)
    )
    session.add(saved)
    session.flush()
    return saved


def searches_of(session: Session, user_id: int) -> list[SavedSearch]:
    """Return the user's saved searches, newest first."""
    rows = session.scalars(
        select(SavedSearch).where(SavedSearch.user_id == user_id).order_by(SavedSearch.id.desc())
    )
    return list(rows)


def space_words(space: Space) -> set[str]:
    """Return the words a saved search can match in a space."""
    host = space.host
    parts = [space.title, space.description, *(space.topics or [])]
    if host is not None:
        parts += [host.name, host.handle]
    return set(terms(" ".join(p for p in parts if p)))


def matches(search: SavedSearch, space: Space, words: set[str] | None = None) -> bool:
    """Say whether `space` matches: every term starts a word of it, and the filters hold."""
    if search.lang and space.lang.lower() != search.lang.lower():
        return False
    if search.topic and search.topic.casefold() not in {
        str(t).casefold() for t in space.topics or []
    }:
        return False
    words = space_words(space) if words is None else words
    # Prefix matching lets "podcast" find "podcasts", as the search box's suggestions do.
    return all(any(word.startswith(term) for word in words) for term in terms(search.query))


def hits_of(session: Session, search_id: int, limit: int = 50) -> Sequence[Space]:
    """Return the spaces that matched a saved search, most recent match first."""
    rows = session.scalars(
        select(Space)
        .join(SavedSearchHit, SavedSearchHit.space_id == Space.id)
        .where(SavedSearchHit.search_id == search_id, Space.hidden.is_(False))
        .order_by(SavedSearchHit.at.desc(), SavedSearchHit.id.desc())
        .limit(limit)
    )
    return list(rows.unique())
