"""A DNS name that rebinds: public when checked, loopback when connected to.

Loaded into a crawl's child process as a Scrapy extension (EXTENSIONS setting). The
first kind of lookup (getaddrinfo, what the guard middleware asks) answers a public
address; the second (gethostbyname, what Twisted's threaded resolver asks when it
connects) answers 127.0.0.2, where the canary listens.
"""

from __future__ import annotations

import socket
from typing import Any

NAME = "rebind.test"
PUBLIC, PRIVATE = "93.184.216.34", "127.0.0.2"


class Rebinding:
    """Install the rebinding answers for NAME when the crawl starts."""

    @classmethod
    def from_crawler(cls, crawler: Any) -> Rebinding:
        real_getaddrinfo, real_gethostbyname = socket.getaddrinfo, socket.gethostbyname

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            if host == NAME:
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, port))]
            return real_getaddrinfo(host, port, *args, **kwargs)

        def gethostbyname(host: str) -> str:
            return PRIVATE if host == NAME else real_gethostbyname(host)

        socket.getaddrinfo = getaddrinfo
        socket.gethostbyname = gethostbyname
        return cls()
