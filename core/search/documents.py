"""Turn catalog spaces into search documents, and keep the index in step after commits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Set
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.catalog.db import Catalog
from core.catalog.models import Sighting, Space
from core.search.base import SearchBackend
from core.timeutil import isoformat, utcnow

log = logging.getLogger(__name__)

BATCH = 500


def space_document(space: Space, shares_24h: int = 0) -> dict[str, Any]:
    """Return the search document of a space (plain text fields; the backend escapes)."""
    host = space.host
    return {
        "id": space.id,
        "title": space.title,
        "description": space.description,
        "host_name": host.name if host else "",
        "host_handle": host.handle if host else "",
        "topics": list(space.topics or []),
        "lang": space.lang or "",
        "state": space.state,
        "platform": space.platform,
        "listener_count": space.listener_count or 0,
        "started_at": isoformat(space.started_at),
        "scheduled_start": isoformat(space.scheduled_start),
        "ended_at": isoformat(space.ended_at),
        "updated_at": isoformat(space.updated_at),
        "featured": bool(space.featured),
        "shares_24h": shares_24h,
        "version": space.version,
    }


def build_documents(session: Session, ids: list[int]) -> tuple[list[dict[str, Any]], list[int]]:
    """Return (documents to index, ids to remove) for these space ids."""
    spaces = session.scalars(select(Space).where(Space.id.in_(ids))).unique().all()
    since = utcnow() - timedelta(hours=24)
    shares = dict(
        session.execute(
            select(Sighting.space_id, func.count(Sighting.id))
            .where(Sighting.space_id.in_(ids), Sighting.last_seen >= since)
            .group_by(Sighting.space_id)
        ).all()
    )
    found = {space.id for space in spaces}
    docs = [space_document(s, shares.get(s.id, 0)) for s in spaces if not s.hidden]
    removed = [i for i in ids if i not in found] + [s.id for s in spaces if s.hidden]
    return docs, removed


class IndexSync:
    """After each commit, push the changed spaces to the search backend."""

    def __init__(self, catalog: Catalog, backend: SearchBackend) -> None:
        self.catalog = catalog
        self.backend = backend
        #: Called after every write to the index with whether it must show at once
        #: (a space deleted, hidden or featured: see ChangedSpaces).
        self.after_write: list[Callable[[bool], None]] = []

    def __call__(self, space_ids: set[int]) -> None:
        # A plain set says nothing of what changed: treat it all as urgent.
        urgent = getattr(space_ids, "urgent", space_ids)
        self.sync(sorted(space_ids), urgent)

    def sync(self, ids: list[int], urgent: Set[int] | None = None) -> None:
        """Index or remove these spaces according to the catalog.

        `urgent` names those whose change must show at once; None means all of them.
        """
        for start in range(0, len(ids), BATCH):
            chunk = ids[start : start + BATCH]
            with self.catalog.sessions() as session:
                docs, removed = build_documents(session, chunk)
            if docs:
                self.backend.index(docs)
            if removed:
                self.backend.remove(removed)
            if docs or removed:
                self._written(urgent is None or not urgent.isdisjoint(chunk))

    def reindex_all(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Rebuild the index from the catalog (the catalog is the truth); return the count.

        The backend builds a new index beside the one searches use and swaps it in at
        the end, so search never goes empty. Spaces that change meanwhile are synced to
        the old index (and lost with it), so they are synced again after the swap;
        versioned writes make the replay safe.
        """
        started = utcnow()
        with self.catalog.sessions() as session:
            ids = list(session.scalars(select(Space.id).order_by(Space.id)))
        count = self.backend.rebuild(self._batches(ids, progress))
        self._written(True)
        with self.catalog.sessions() as session:
            changed = session.scalars(select(Space.id).where(Space.updated_at >= started))
            self.sync(sorted(changed))
        return count

    def _written(self, urgent: bool) -> None:
        for hook in self.after_write:
            hook(urgent)

    def _batches(
        self, ids: list[int], progress: Callable[[int, int], None] | None
    ) -> Iterator[list[dict[str, Any]]]:
        for start in range(0, len(ids), BATCH):
            with self.catalog.sessions() as session:
                docs, _ = build_documents(session, ids[start : start + BATCH])
            yield docs
            if progress:
                progress(min(start + BATCH, len(ids)), len(ids))
