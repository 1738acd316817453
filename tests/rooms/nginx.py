"""Run Debian's nginx on loopback with the room-server site from docs/deploy.md."""

from __future__ import annotations

import getpass
import os
import re
import signal
import socket
import subprocess
import time
from pathlib import Path

NGINX = "/usr/sbin/nginx"
DEPLOY_DOC = Path(__file__).parents[2] / "docs" / "deploy.md"
SECTION = "## HLS behind nginx"
# The documented values the test replaces with its own (port, room server, cache folder).
DOC_LISTEN = "listen 80;"
DOC_ORIGIN = "server 127.0.0.1:8100;"
DOC_CACHE = "/var/cache/nginx/spaces-hls"


def installed() -> bool:
    """Say whether nginx can be run here."""
    return os.access(NGINX, os.X_OK)


def documented_site() -> str:
    """Return the nginx site block quoted in the deployment guide's HLS section."""
    text = DEPLOY_DOC.read_text()
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    found = re.search(r"```nginx\n(.*?)```", section, flags=re.S)
    assert found, f"{DEPLOY_DOC}: no nginx block under {SECTION!r}"
    return found.group(1)


def fill_site(site: str, *, listen_port: int, origin_port: int, cache_dir: Path) -> str:
    """Return the documented site with this machine's ports and folders put in."""
    for placeholder in (DOC_LISTEN, DOC_ORIGIN, DOC_CACHE):
        assert site.count(placeholder) == 1, f"the documented site lost {placeholder!r}"
    return (
        site.replace(DOC_LISTEN, f"listen 127.0.0.1:{listen_port};")
        .replace(DOC_ORIGIN, f"server 127.0.0.1:{origin_port};")
        .replace(DOC_CACHE, str(cache_dir))
    )


class Nginx:
    """One nginx master in the foreground, its files under `prefix`; stopped by stop()."""

    def __init__(self, prefix: Path, site: str, port: int) -> None:
        self.prefix = prefix
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.access_log = prefix / "access.log"
        self.error_log = prefix / "error.log"
        prefix.mkdir(parents=True, exist_ok=True)
        (prefix / "site.conf").write_text(site)
        self.conf = prefix / "nginx.conf"
        self.conf.write_text(self._main_conf())
        self.proc: subprocess.Popen[bytes] | None = None

    def _main_conf(self) -> str:
        p = self.prefix
        # Workers run as the test's user; as root nginx would switch them to nobody,
        # who cannot enter the test's private temporary folder.
        user = f"user {getpass.getuser()};\n" if os.geteuid() == 0 else ""
        temp = "\n".join(
            f"    {kind}_temp_path {p / kind};"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        return (
            f"{user}worker_processes 2;\npid {p / 'nginx.pid'};\n"
            f"error_log {self.error_log} info;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            "    log_format cache '$request_uri $status $upstream_cache_status';\n"
            f"    access_log {self.access_log} cache;\n{temp}\n"
            f"    include {p / 'site.conf'};\n"
            "}\n"
        )

    def start(self, timeout_s: float = 10.0) -> Nginx:
        """Check the configuration, start nginx and wait until it accepts connections."""
        args = [NGINX, "-p", str(self.prefix), "-e", str(self.error_log), "-c", str(self.conf)]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True, check=False)
        assert check.returncode == 0, f"nginx refused the configuration:\n{check.stderr}"
        self.proc = subprocess.Popen([*args, "-g", "daemon off;"])
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.proc.poll() is None, f"nginx exited:\n{self.errors()}"
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                assert time.monotonic() < deadline, f"nginx did not listen:\n{self.errors()}"
                time.sleep(0.05)

    def errors(self) -> str:
        """Return what nginx wrote to its error log."""
        return self.error_log.read_text() if self.error_log.exists() else ""

    def stop(self) -> None:
        """Stop nginx (SIGTERM: at once) and wait for it; kill it if it lingers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
