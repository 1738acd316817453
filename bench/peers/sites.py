"""Small real HTTP servers on loopback addresses for crawl tests, with a request log."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

Answer = tuple[int, dict[str, str], bytes]


@dataclass
class Drip:
    """A page sent one byte every `every_s` seconds, after honest headers."""

    body: bytes
    every_s: float = 1.0


#: A route answers (status, headers, body); a plain string is an HTML page; a callable
#: is given the request's headers; a Drip trickles its body out.
Route = Answer | str | Drip | Callable[[Message], Answer]


@dataclass
class Site:
    """A running HTTP server: its base URL, routes, and every request line it received."""

    host: str
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://{self.host}:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def paths(self) -> list[str]:
        return [urlsplit(target).path for target in self.requests]

    def start(self) -> Site:
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                site.requests.append(self.path)
                # A proxied request carries the whole URL; serve it by its path.
                route = site.routes.get(urlsplit(self.path).path)
                if isinstance(route, Drip):
                    self._drip(route)
                    return
                if route is None:
                    status, headers, body = 404, {"Content-Type": "text/plain"}, b"not found"
                elif isinstance(route, str):
                    status, headers = 200, {"Content-Type": "text/html; charset=utf-8"}
                    body = route.encode()
                elif callable(route):
                    status, headers, body = route(self.headers)
                else:
                    status, headers, body = route
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _drip(self, drip: Drip) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(drip.body)))
                self.end_headers()
                try:
                    for byte in drip.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(drip.every_s)
                except OSError:
                    site.dropped.append(self.path)  # the client gave up, as it should

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((self.host, 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
