"""Small helpers for tests: free ports, reachability of local services, loopback servers."""

from __future__ import annotations

import socket

# The loopback server base lives beside the protocol servers built on it, which the
# benchmarks use too and which cannot import the tests.
from bench.peers.loopback import LoopbackAiohttpServer as LoopbackAiohttpServer


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
