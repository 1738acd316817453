"""Record many liveness checks at once, and read and prune the check log kept per space."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import CursorResult, Result, Row, delete, func, insert, select, update
from sqlalchemy.orm import Session

from core.catalog.models import Space, SpaceCheck
from core.catalog.records import Observation
from core.catalog.schedule import next_check_after
from core.catalog.spaces import record_observation
from core.catalog.states import State

#: Checks kept per space, newest first, and the age after which any check goes.
KEEP_PER_SPACE = 100
MAX_AGE = timedelta(hours=24)

_SEEN = (
    Space.id,
    Space.state,
    Space.listener_count,
    Space.speaker_count,
    Space.title,
    Space.started_at,
    Space.scheduled_start,
    Space.ended_at,
    Space.last_checked_at,
    Space.check_failures,
)
_COMPARED = (
    "listener_count",
    "speaker_count",
    "title",
    "started_at",
    "scheduled_start",
    "ended_at",
)


def record_observations(
    session: Session, observations: Mapping[int, Observation], *, interval_s: float, now: datetime
) -> dict[int, bool]:
    """Record checks of many spaces made at `now`; return, per space, whether its state changed.

    Most checks find nothing new: those only move the space's check times, in one bulk
    update that leaves the search index and the after-commit hooks alone. A check that
    changes something a listener sees goes through record_observation, one by one.
    """
    rows = session.execute(select(*_SEEN).where(Space.id.in_(list(observations)))).all()
    quiet: list[dict[str, Any]] = []
    log: list[dict[str, Any]] = []
    result: dict[int, bool] = {}
    for row in rows:
        observation = observations[row.id]
        if row.last_checked_at is not None and now < row.last_checked_at:
            result[row.id] = False  # older than the last check: see record_observation
            continue
        if not _is_quiet(row, observation):
            space = session.get(Space, row.id)
            if space is not None:
                result[row.id] = record_observation(
                    session, space, observation, interval_s=interval_s, now=now
                )
                for name, value in check_health(observation, now).items():
                    setattr(space, name, value)
            continue
        result[row.id] = False
        quiet.append(
            _quiet_update(row, observation, interval_s, now) | check_health(observation, now)
        )
        log.append(
            {
                "space_id": row.id,
                "at": now,
                "ok": observation.state is not None,
                "state": str(observation.state or ""),
                "listeners": observation.listener_count,
                "error": observation.error[:300],
            }
        )
    if quiet:
        session.execute(update(Space), quiet)
        session.execute(insert(SpaceCheck), log)
    return result


def check_health(observation: Observation, now: datetime) -> dict[str, Any]:
    """Return the health a check leaves on its space: last good check, status and reason.

    A check that got an answer it could read (even "this space is gone") is a good one;
    failures in a row are counted by check_failures, as the schedule needs them.
    """
    health: dict[str, Any] = {
        "last_status": observation.status,
        "check_reason": observation.reason[:40],
    }
    if observation.state is not None:
        health["last_ok_at"] = now
    return health


def _is_quiet(row: Row[*tuple[Any, ...]], observation: Observation) -> bool:
    """Say whether a check leaves everything a listener sees as it was."""
    if observation.state is None:
        return True
    if State(row.state) != observation.state:
        return False
    return all(
        getattr(observation, name) is None or getattr(observation, name) == getattr(row, name)
        for name in _COMPARED
    )


def _quiet_update(
    row: Row[*tuple[Any, ...]], observation: Observation, interval_s: float, now: datetime
) -> dict[str, Any]:
    if observation.state is None:
        failures = row.check_failures + 1
        space = SimpleNamespace(state=row.state, check_failures=failures)
        return {
            "id": row.id,
            "last_checked_at": now,
            "check_failures": failures,
            "last_check_error": observation.error[:500],
            "next_check_at": next_check_after(space, now, interval_s, failed=True),
        }
    space = SimpleNamespace(state=row.state, scheduled_start=row.scheduled_start)
    return {
        "id": row.id,
        "last_checked_at": now,
        "last_verified_at": now,
        "check_failures": 0,
        "last_check_error": "",
        "next_check_at": next_check_after(
            space, now, interval_s, failed=False, previous=State(row.state)
        ),
    }


def recent_checks(session: Session, space_id: int, limit: int = 20) -> list[SpaceCheck]:
    """Return the latest checks of one space, newest first."""
    rows = session.scalars(
        select(SpaceCheck)
        .where(SpaceCheck.space_id == space_id)
        .order_by(SpaceCheck.at.desc(), SpaceCheck.id.desc())
        .limit(limit)
    )
    return list(rows)


def prune_checks(
    session: Session,
    now: datetime,
    *,
    keep: int = KEEP_PER_SPACE,
    max_age: timedelta = MAX_AGE,
) -> int:
    """Delete checks older than `max_age` and all but the newest `keep` per space."""
    aged = _deleted(session.execute(delete(SpaceCheck).where(SpaceCheck.at < now - max_age)))
    rank = (
        func.row_number()
        .over(
            partition_by=SpaceCheck.space_id,
            order_by=(SpaceCheck.at.desc(), SpaceCheck.id.desc()),
        )
        .label("rank")
    )
    ranked = select(SpaceCheck.id, rank).subquery()
    surplus = select(ranked.c.id).where(ranked.c.rank > keep)
    extra = _deleted(session.execute(delete(SpaceCheck).where(SpaceCheck.id.in_(surplus))))
    return aged + extra


def _deleted(result: Result[*tuple[Any, ...]]) -> int:
    """Return how many rows a DELETE removed (a DML result is a CursorResult)."""
    return int(cast("CursorResult[*tuple[Any, ...]]", result).rowcount or 0)
