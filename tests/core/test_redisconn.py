"""The embedded Redis server stops when the process that started it lets it go."""

from __future__ import annotations

import os
import time
from pathlib import Path

from core.redisconn import close, embedded_redis


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_the_server_stops_though_several_threads_used_it(tmp_path: Path) -> None:
    server = embedded_redis(tmp_path / "redis")
    pid = server.pid
    # Threads each take a pooled connection: the server sees several clients.
    held = [server.connection_pool.get_connection() for _ in range(3)]
    for connection in held:
        connection.send_command("PING")
        assert connection.read_response() in (b"PONG", "PONG")
    for connection in held:
        server.connection_pool.release(connection)
    assert len(server.client_list()) >= 3
    close(server)
    deadline = time.monotonic() + 10
    while running(pid):
        assert time.monotonic() < deadline, "the embedded Redis server outlived its owner"
        time.sleep(0.1)
