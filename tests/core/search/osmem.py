"""Test-only plumbing to run the Elasticsearch backend against osmem-server.

The elasticsearch 9 client asks for `application/vnd.elasticsearch+json;
compatible-with=9`; OpenSearch-compatible servers refuse that media type with 406, so
this node class hands them plain JSON (and plain NDJSON for bulk requests). The product
code never uses it.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from elastic_transport import HttpHeaders, Urllib3HttpNode
from elastic_transport._node import NodeApiResponse

# json and x-ndjson (bulk) both come in the compatibility form.
_COMPAT = re.compile(r"application/vnd\.elasticsearch\+([\w-]+)(\s*;\s*compatible-with=\d+)?")


class PlainJsonNode(Urllib3HttpNode):
    """Send `application/json` where the client would send its compatibility media type."""

    def perform_request(  # type: ignore[override]
        self,
        method: str,
        target: str,
        body: bytes | None = None,
        headers: HttpHeaders | None = None,
        **kwargs: object,
    ) -> NodeApiResponse:
        if headers is not None:
            headers = headers.copy()
            for name in ("accept", "content-type"):
                if name in headers:
                    headers[name] = _COMPAT.sub(r"application/\1", headers[name])
        return super().perform_request(method, target, body=body, headers=headers, **kwargs)


def osmem_binary() -> Path:
    """Return the osmem-server executable bundled in the installed wheel."""
    import osmem_server

    return Path(osmem_server.__file__).resolve().parent / "bin" / "osmem-server"


@contextmanager
def running_osmem(port: int) -> Iterator[str]:
    """Run osmem-server on 127.0.0.1:`port` and yield its URL; stop it afterwards."""
    import urllib.request

    process = subprocess.Popen(
        [str(osmem_binary()), "-addr", f"127.0.0.1:{port}", "-no-ja"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(url, timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("osmem-server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        # Closing stdin is the server's own signal to exit; kill only if it lingers.
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
