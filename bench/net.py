"""Loopback ports for the benchmarks' servers: a free one, and waiting until one listens."""

from __future__ import annotations

import socket
import time


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]  # an IPv4 socket's address is (host, port)
        return port


def wait_listening(port: int, what: str, timeout: float = 30.0) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; raise if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} in {timeout:.0f} s")
