"""The per-process context jobs run in: the Services, built once per worker process."""

from __future__ import annotations

import threading

from core.config import Config
from core.services import Services, build_services

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
