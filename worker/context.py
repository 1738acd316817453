"""The per-process context jobs run in: the Services, built once per worker process."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from rq import get_current_job

from core.config import Config
from core.services import Services, build_services
from core.timeutil import utcnow

_lock = threading.Lock()
_services: Services | None = None


def install(services: Services) -> Services:
    """Use `services` for every job this process runs (the worker, a bench, a test)."""
    global _services
    with _lock:
        _services = services
    return services


def services() -> Services:
    """Return this process's Services, building them from the environment on first use."""
    global _services
    with _lock:
        if _services is None:
            # A worker started by RQ's own CLI has no run_worker() to hand it a config.
            _services = build_services(Config.from_env())
        return _services


def reset() -> None:
    """Forget the installed Services (the caller closes them)."""
    global _services
    with _lock:
        _services = None


def ensure(config: Config) -> Services:
    """Return the installed Services if they were built for `config`, else build and install."""
    global _services
    with _lock:
        if _services is None or _services.config != config:
            _services = build_services(config)
        return _services


def first_started_at() -> datetime | None:
    """Return when the running job first started, across its reruns; None outside a job.

    A job run again after its worker died may find its work recorded after this time
    by the run that died: it need not, and must not, record it twice.
    """
    job = get_current_job()
    if job is None:
        return None
    seen = job.meta.get("first_started_at")
    if isinstance(seen, str):
        return datetime.fromisoformat(seen)
    started = job.started_at or utcnow()
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    job.meta["first_started_at"] = started.isoformat()
    job.save_meta()  # type: ignore[no-untyped-call]  # RQ leaves it unannotated
    return started


def running_again() -> bool:
    """Return True if the running job ran before (its worker died, or it raised) and runs again."""
    job = get_current_job()
    first = first_started_at()
    if job is None or first is None or job.started_at is None:
        return False
    started = job.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=UTC)
    return started > first
