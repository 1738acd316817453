"""The catalog's engine and sessions, and hooks that run after a commit."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

from core.catalog.models import Space

log = logging.getLogger(__name__)

#: Space columns whose change must show at once wherever spaces are listed: what
#: curators set. Everything else (state, counts, titles) changes many times a second
#: across a large catalog and may show a few seconds late.
SHOWN_AT_ONCE = ("hidden", "featured")


class ChangedSpaces(set[int]):
    """The ids of the spaces one commit changed.

    `urgent` holds those that were deleted, hidden or shown again, or featured or
    unfeatured: changes a listing must show on the very next request.
    """

    def __init__(self, ids: set[int], urgent: set[int]) -> None:
        super().__init__(ids)
        self.urgent = frozenset(urgent & ids)


CommitHook = Callable[[set[int]], None]


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


class Catalog:
    """Owns the engine and hands out sessions; tells hooks which spaces a commit changed."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._hooks: list[CommitHook] = []
        event.listen(self.sessions, "after_flush", self._collect)
        event.listen(self.sessions, "after_commit", self._after_commit)
        event.listen(self.sessions, "after_rollback", self._forget)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def on_commit(self, hook: CommitHook) -> None:
        """Call `hook(space_ids)` after each commit that changed spaces."""
        self._hooks.append(hook)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """Yield a session that commits on success and rolls back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    @staticmethod
    def _collect(session: Session, _ctx: Any) -> None:
        dirty = session.info.setdefault("changed_spaces", set())
        urgent = session.info.setdefault("urgent_spaces", set())
        for obj in session.new:
            if isinstance(obj, Space) and obj.id is not None:
                dirty.add(obj.id)
        for obj in session.deleted:
            if isinstance(obj, Space) and obj.id is not None:
                dirty.add(obj.id)
                urgent.add(obj.id)
        for obj in session.dirty:
            if isinstance(obj, Space) and obj.id is not None:
                dirty.add(obj.id)
                # Attribute history is still there in after_flush.
                attrs = inspect(obj).attrs
                if any(attrs[name].history.has_changes() for name in SHOWN_AT_ONCE):
                    urgent.add(obj.id)

    def _after_commit(self, session: Session) -> None:
        ids: set[int] = session.info.pop("changed_spaces", set())
        ids |= session.info.pop("touched_spaces", set())
        urgent: set[int] = session.info.pop("urgent_spaces", set())
        if not ids:
            return
        changed = ChangedSpaces(ids, urgent)
        for hook in self._hooks:
            try:
                hook(changed)
            except Exception:
                # The catalog is the truth; a failed index sync is repaired by reindexing.
                log.exception("after-commit hook failed for %d spaces", len(changed))

    @staticmethod
    def _forget(session: Session) -> None:
        for key in ("changed_spaces", "touched_spaces", "urgent_spaces"):
            session.info.pop(key, None)


def touch(session: Session, space_id: int) -> None:
    """Mark a space as changed so the after-commit hooks see it."""
    session.info.setdefault("touched_spaces", set()).add(space_id)
