"""Small helpers for tests: free ports, reachability of local services, loopback servers,
and new catalog databases at the newest schema."""

from __future__ import annotations

import atexit
import shutil
import socket
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

# The loopback server base lives beside the protocol servers built on it, which the
# benchmarks use too and which cannot import the tests.
from bench.peers.loopback import LoopbackAiohttpServer as LoopbackAiohttpServer
from core.catalog.migrate import upgrade


def reachable(host: str, port: int) -> bool:
    """Return True if a TCP server answers at host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on `host` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


# One migrated catalog per process and kind of database, made the first time it is needed.
_TEMPLATES: dict[str, str] = {}


def migrate_catalog(database_url: str) -> None:
    """Bring the catalog at `database_url` to the newest schema, as upgrade() does.

    Running every migration takes about a third of a second on SQLite and a second on
    PostgreSQL, for each of hundreds of tests. So a new, empty database becomes a copy of
    one this process migrated once; the migrations themselves are tested in
    tests/core/catalog/test_migrations.py. A database that has tables is upgraded.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(str(url.database))
        if not path.exists():
            shutil.copyfile(_sqlite_template(), path)
            return
    elif url.get_backend_name() == "postgresql" and url.database and _is_empty(url):
        _recreate_from_template(url)
        return
    upgrade(database_url)


def _sqlite_template() -> str:
    if "sqlite" not in _TEMPLATES:
        folder = tempfile.mkdtemp(prefix="spaces-catalog-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        path = f"{folder}/catalog.db"
        upgrade(f"sqlite:///{path}")
        _TEMPLATES["sqlite"] = path
    return _TEMPLATES["sqlite"]


def _is_empty(url: URL) -> bool:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")
            ).scalar_one()
    finally:
        engine.dispose()
    return count == 0


def _recreate_from_template(url: URL) -> None:
    """Replace the empty PostgreSQL database at `url` with a copy of the migrated template."""
    # CREATE and DROP DATABASE run from the server's maintenance database, never from the
    # template (a copy needs it unused) or from template1 (what other tests copy).
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        template = _TEMPLATES.get("postgresql")
        with admin.connect() as conn:
            if template is None:
                template = f"spaces_test_template_{uuid.uuid4().hex[:12]}"
                conn.execute(text(f'CREATE DATABASE "{template}"'))
                atexit.register(_drop_database, url, template)
                upgrade(url.set(database=template).render_as_string(hide_password=False))
                _TEMPLATES["postgresql"] = template
            conn.execute(text(f'DROP DATABASE "{url.database}"'))
            conn.execute(text(f'CREATE DATABASE "{url.database}" TEMPLATE "{template}"'))
    finally:
        admin.dispose()


def _drop_database(url: URL, name: str) -> None:
    admin = create_engine(
        url.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
