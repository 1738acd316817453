"""Call the room server over HTTP with a short connect timeout and a deadline for the answer.

A room server that is down or hung must never hold a portal thread for long. urllib's
one timeout applies to the connection and to each read on its own, so a server that
accepts and then says nothing, or trickles its answer, could hold a request far longer.
Here the connection must open within CONNECT_TIMEOUT_S, and the whole answer (status,
headers and body) must arrive by a deadline. The room server is called directly, never
through a proxy: it is the portal's own service.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

CONNECT_TIMEOUT_S = 2.0
TOTAL_TIMEOUT_S = 5.0
MAX_BODY = 1_000_000
_CHUNK = 64 * 1024


class Unanswered(Exception):
    """The room server could not be reached or gave no answer in time; the message says which."""


@dataclass(frozen=True)
class Answer:
    """A whole answer of the room server: its status, headers and body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        """Return the body read as JSON; raise ValueError when it is not."""
        return json.loads(self.body)


def call(
    url: str,
    *,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    total_s: float = TOTAL_TIMEOUT_S,
    max_bytes: int = MAX_BODY,
) -> Answer:
    """Send one request and return the whole answer, or raise Unanswered within `total_s`."""
    deadline = time.monotonic() + total_s
    connection, sock, response = _send(url, method, body, headers or {}, deadline, total_s)
    try:
        data = bytearray()
        while chunk := _within(sock, deadline, total_s, response.read1, _CHUNK):
            data += chunk
            if len(data) > max_bytes:
                raise Unanswered(f"an answer larger than {max_bytes // 1000} kB")
        return Answer(response.status, response.headers, bytes(data))
    finally:
        response.close()
        connection.close()


def open_stream(
    url: str, *, headers: dict[str, str] | None = None, total_s: float = TOTAL_TIMEOUT_S
) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
    """Send a GET whose status and headers arrive within `total_s`; return them to read on.

    The body may be long (a recording): each read then waits at most `total_s` for more.
    The caller closes the connection.
    """
    deadline = time.monotonic() + total_s
    connection, sock, response = _send(url, "GET", None, headers or {}, deadline, total_s)
    sock.settimeout(total_s)
    return connection, response


def _send(
    url: str,
    method: str,
    body: bytes | None,
    headers: dict[str, str],
    deadline: float,
    total_s: float,
) -> tuple[http.client.HTTPConnection, socket.socket, http.client.HTTPResponse]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http:// or https:// address: {url!r}")
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname, parts.port, timeout=min(CONNECT_TIMEOUT_S, total_s))
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        try:
            connection.connect()
        except TimeoutError:
            raise Unanswered(f"no connection within {CONNECT_TIMEOUT_S:g} s") from None
        # Kept here: the connection lets go of its socket once a response says "close".
        sock = connection.sock
        _within(sock, deadline, total_s, connection.request, method, path, body, headers)
        response = _within(sock, deadline, total_s, connection.getresponse)
    except Unanswered:
        connection.close()
        raise
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        raise Unanswered(_words(error)) from None
    return connection, sock, response


def _within(sock: socket.socket, deadline: float, total_s: float, step: Any, *args: Any) -> Any:
    """Run one blocking step of the exchange with what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise Unanswered(f"no answer within {total_s:g} s")
    sock.settimeout(left)
    try:
        return step(*args)
    except TimeoutError:
        raise Unanswered(f"no answer within {total_s:g} s") from None
    except (OSError, http.client.HTTPException) as error:
        raise Unanswered(_words(error)) from None


def _words(error: BaseException) -> str:
    """Say what went wrong with a connection, for the person reading the message."""
    if isinstance(error, ConnectionRefusedError):
        return "connection refused: is it running?"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected):
        return "it closed the connection"
    return str(error) or type(error).__name__
