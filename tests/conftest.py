"""Shared fixtures: real databases and Redis, embedded ones where the real are missing."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.peers.sites import Site
from bench.peers.smtp_sink import SmtpSink
from core.config import Config
from core.services import Services, build_services
from tests.support import free_port, migrate_catalog, reachable

__all__ = ["free_port", "reachable"]

POSTGRES_ADMIN_URL = os.environ.get(
    "SPACES_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
#: Tests run in parallel processes (pytest-xdist: gw0, gw1...) flush the real Redis, so
#: each process has a database of its own.
_PROCESS = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
REDIS_URL = os.environ.get(
    "SPACES_TEST_REDIS_URL",
    f"redis://127.0.0.1:6379/{int(_PROCESS) % 16 if _PROCESS.isdigit() else 0}",
)


POSTGRES_AVAILABLE = reachable("127.0.0.1", 5432)
REDIS_AVAILABLE = reachable("127.0.0.1", 6379)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "var"
    path.mkdir()
    return path


@pytest.fixture(scope="session")
def embedded_redis_server(tmp_path_factory: pytest.TempPathFactory):
    """One embedded Redis server for the whole run; tests flush it instead of restarting it.

    Starting and stopping a server per test costs seconds each; one per run keeps the
    embedded path under test at almost no cost.
    """
    from core.redisconn import close, embedded_redis

    server = embedded_redis(tmp_path_factory.mktemp("redis"))
    yield server
    # Clients the tests left open would keep the server running after the run.
    with contextlib.suppress(redis.RedisError):
        server.client_kill_filter(_type="normal", skipme=True)
    close(server)


@pytest.fixture
def embedded_redis_url(embedded_redis_server) -> str:
    """The flushed session server's URL, as another process would reach it."""
    from core.redisconn import embedded_redis_url as url_of

    embedded_redis_server.flushall()
    return url_of(embedded_redis_server)


def _base_config(data_dir: Path, database_url: str, redis_url: str = "") -> Config:
    return Config(
        data_dir=data_dir,
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret",
        rooms_secret="test-rooms-secret",
        testing=True,
    )


@pytest.fixture
def sqlite_url(data_dir: Path) -> str:
    return f"sqlite:///{data_dir / 'spaces.db'}"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """Create a throwaway PostgreSQL database for one test and drop it afterwards."""
    if not POSTGRES_AVAILABLE:
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    name = f"spaces_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each catalog test runs on SQLite, and on PostgreSQL where it is reachable."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def config(data_dir: Path, sqlite_url: str, embedded_redis_url: str) -> Config:
    return _base_config(data_dir, sqlite_url, embedded_redis_url)


def make_services(config: Config) -> Services:
    """Migrate the configured database and build the services on it."""
    migrate_catalog(config.database_url)
    services = build_services(config)
    services.search.ensure()
    return services


@pytest.fixture
def services(config: Config) -> Iterator[Services]:
    """Services on a fresh, migrated SQLite catalog with the FTS5 backend."""
    built = make_services(config)
    yield built
    built.close()


@pytest.fixture
def any_services(data_dir: Path, database_url: str, embedded_redis_url: str) -> Iterator[Services]:
    """Services on each available database (SQLite; PostgreSQL when reachable)."""
    built = make_services(_base_config(data_dir, database_url, embedded_redis_url))
    yield built
    built.close()


@pytest.fixture(params=["redis", "embedded"])
def redis_client(request: pytest.FixtureRequest):
    """A flushed Redis: the real server where reachable, and always the embedded one."""
    import redis

    if request.param == "embedded":
        client = request.getfixturevalue("embedded_redis_server")
        client.flushall()
        yield client
        client.flushall()
        return
    if not REDIS_AVAILABLE:
        pytest.skip("Redis is not reachable on 127.0.0.1:6379")
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def site() -> Iterator[Site]:
    """An HTTP server on 127.0.0.1, the one address test crawls may fetch."""
    server = Site("127.0.0.1").start()
    yield server
    server.stop()


#: The files that take longest (20-45 s each on CI), started first: pytest-xdist hands out
#: whole files (--dist loadfile), and a long one started near the end runs on alone while
#: the other processes have nothing left to do.
SLOW_FILES = (
    "tests/spaces/test_up_restart.py",
    "tests/portal/admin/test_browser.py",
    "tests/crawler/test_politeness.py",
    "tests/spaces/test_up.py",
    "tests/test_types.py",
    "tests/worker/test_processes.py",
    "tests/worker/test_kill.py",
    "tests/journeys/test_become_host.py",
    "tests/crawler/test_bounds.py",
    "tests/portal/hosting/test_host_browser.py",
    "tests/rooms/test_room_look_browser.py",
    "tests/portal/player/test_dock_browser.py",
    "tests/rooms/test_room_live_browser.py",
    "tests/worker/test_delivery_kill.py",
    "tests/core/search/test_rebuild.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the known-slow files to the front; the rest keep their order."""
    rank = {path: n for n, path in enumerate(SLOW_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    """An SMTP server on loopback that keeps the mail it receives."""
    with SmtpSink() as running:
        yield running
