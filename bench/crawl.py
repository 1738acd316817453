"""Benchmark the crawler on a generated local site whose spaces are known in advance.

The corpus mixes ordinary pages, room-server space pages (rendered from the room
server's own template), X Spaces links in every shape people paste them, short links
that redirect to either, and decoys that look like spaces but are not (X status and
broadcast links, near-miss X paths, Open Graph pages without a status link). It is
served by a separate process on 127.0.0.1 and crawled with the real spider,
extraction and catalog pipeline.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import select

from bench.net import free_port, wait_listening
from core.catalog.migrate import upgrade
from core.catalog.models import Space
from core.config import Config
from core.services import build_services
from rooms.pages import REACTION_LABELS, json_ld, make_templates, share_text
from rooms.store import RoomRecord
from worker.crawls import run_crawl

_X_SHAPES = (
    "https://twitter.com/i/spaces/{id}",
    "https://x.com/i/spaces/{id}?s=20",
    "https://mobile.twitter.com/i/spaces/{id}/peek",
    "http://www.x.com/i/spaces/{id}?utm_source=share#top",
    "https://X.COM/i/spaces/{id}/peek?s=09",
    "https://m.twitter.com/i/spaces/{id}/",
)
_X_DECOYS = (
    "https://x.com/someone/status/{id}",
    "https://x.com/i/broadcasts/{id}",
    "https://twitter.com/i/space/{id}",
    "https://x.com/i/spaces/",
)
_FANOUT = 5
_SETTINGS = {
    # Measure the crawler, not the politeness delays meant for other people's sites.
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 64,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "LOG_LEVEL": "WARNING",
    "CLOSESPIDER_TIMEOUT": 400,
    "SPACES_MAX_PAGES_PER_DOMAIN": 0,  # the whole corpus is one site
}


def build_corpus(root: Path, pages: int, base: str, seed: int = 7) -> set[str]:
    """Write the site under `root`; return the canonical URLs of every space on it."""
    rng = random.Random(seed)
    rooms = max(pages // 20, 5)
    x_ids = [f"1{rng.getrandbits(60):015X}"[:13] for _ in range(max(pages // 20, 5))]
    truth = {f"{base}/s/r{n}" for n in range(rooms)}
    truth |= {f"https://x.com/i/spaces/{x_id}" for x_id in x_ids}
    redirects: dict[str, str] = {}
    extras: dict[int, list[str]] = {}

    def share(html: str) -> None:
        extras.setdefault(rng.randrange(pages), []).append(html)

    for n in range(rooms):
        if n % 4 == 0:  # a short link, with tracking, to a room page
            redirects[f"/r/room{n}"] = f"/s/r{n}?utm_source=short"
            share(f'<a href="/r/room{n}">Room {n}</a>')
        else:
            share(f'<a href="/s/r{n}">Room {n}</a>')
    for x_id in x_ids:
        for k in range(rng.randint(1, 3)):  # the same space shared in several shapes
            href = rng.choice(_X_SHAPES).format(id=x_id)
            if k == 2:
                redirects[f"/r/x{x_id}"] = href
                href = f"/r/x{x_id}"
            share(f'<p>@host{x_id[-4:]} is live: <a href="{href}">Space {x_id}</a></p>')
    for page in range(pages):
        children = range(_FANOUT * page + 1, min(_FANOUT * page + _FANOUT + 1, pages))
        targets = [*children, *(rng.randrange(pages) for _ in range(3))]
        body = "".join(f'<a href="/p/{t}.html">page {t}</a> ' for t in targets)
        decoy = rng.choice(_X_DECOYS).format(id=rng.choice(x_ids))
        decoys = f'<a href="{decoy}">a post</a><a href="/d/{page % 50}.html">about</a>'
        html = f"<html><head><title>Page {page}</title></head><body>{body}{decoys}"
        html += "".join(extras.get(page, [])) + "</body></html>"
        _write(root / "p" / f"{page}.html", html)
    for n in range(50):
        _write(root / "d" / f"{n}.html", _decoy_page(n))
    templates = make_templates()
    for n in range(rooms):
        _write(root / "s" / f"r{n}.html", _room_page(templates, base, n, rng))
    _write(root / "index.html", '<html><body><a href="/p/0.html">start</a></body></html>')
    (root / "redirects.json").write_text(json.dumps(redirects))
    return truth


class _Directory:
    """Just enough of a room server's hub for its page functions: addresses and status."""

    def __init__(self, base: str) -> None:
        self.base = base

    def share_url(self, room_id: str) -> str:
        return f"{self.base}/s/{room_id}"

    def status(self, record: RoomRecord) -> dict[str, Any]:
        return {
            **{k: getattr(record, k) for k in ("id", "title", "description", "state", "lang")},
            **{k: getattr(record, k) for k in ("started_at", "scheduled_start", "ended_at")},
            "host": {"name": record.host_name, "handle": record.host_identity},
            "speakers": [],
            "listener_count": 0,
            "topics": record.topics,
            "share_url": self.share_url(record.id),
            "hls_url": None,
        }


def _room_page(templates: jinja2.Environment, base: str, n: int, rng: random.Random) -> str:
    state = rng.choice(["live", "live", "scheduled", "ended"])
    record = RoomRecord(
        id=f"r{n}",
        title=f"Room {n} talk",
        description=f"A conversation about topic {n % 13}",
        host_identity=f"h{n % 37}",
        host_name=f"Host {n % 37}",
        topics=[f"topic{n % 13}"],
        state=state,
        scheduled_start="2030-01-01T10:00:00Z" if state == "scheduled" else None,
        started_at=None if state == "scheduled" else "2026-01-01T10:00:00Z",
        ended_at="2026-01-01T11:00:00Z" if state == "ended" else None,
    )
    hub = _Directory(base)
    return templates.get_template("rooms/room.html").render(
        room=hub.status(record),
        json_ld=json_ld(hub, record),
        share_text=share_text(hub, record),
        reactions=list(REACTION_LABELS.items()),
        status_path=f"/api/rooms/{record.id}",
        ws_path=f"/ws/rooms/{record.id}",
    )


def _decoy_page(n: int) -> str:
    # Looks like a space to a careless reader: OG tags and an unrelated JSON link.
    return (
        f'<html><head><meta property="og:title" content="Podcast {n}">'
        f'<meta property="og:type" content="music.radio_station">'
        f'<link rel="alternate" type="application/json" href="/api/episodes/{n}"></head>'
        f"<body>Listen later</body></html>"
    )


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run(quick: bool = False) -> dict[str, float]:
    """Crawl a generated corpus (10,000 pages, 1,000 if quick) and return the figures."""
    pages = 1_000 if quick else 10_000
    with tempfile.TemporaryDirectory(prefix="spaces-crawl-bench-") as tmp:
        work = Path(tmp)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        truth = build_corpus(work / "site", pages, base)
        server = subprocess.Popen(
            [sys.executable, "-m", "bench.crawl", "--serve", str(work / "site"), str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            wait_listening(port, "the corpus server")
            config = Config.from_env(
                {"SPACES_DATA_DIR": str(work / "var"), "SPACES_CRAWL_ALLOW": "127.0.0.1",
                 "SPACES_SECRET_KEY": "bench", "SPACES_ROOMS_SECRET": "bench"}
            )  # fmt: skip
            config.data_dir.mkdir(parents=True, exist_ok=True)
            upgrade(config.database_url)
            services = build_services(config)
            services.search.ensure()
            report = run_crawl([f"{base}/"], config, depth=20, settings=_SETTINGS)
            with services.catalog.session() as session:
                found = set(session.scalars(select(Space.canonical_url)))
            services.close()
        finally:
            server.terminate()
            server.wait(timeout=10)
    hits = len(found & truth)
    return {
        "crawl.pages_per_min": round(report.pages / max(report.duration_s, 1e-6) * 60, 1),
        "crawl.precision": round(hits / len(found), 4) if found else 0.0,
        "crawl.recall": round(hits / len(truth), 4),
        "crawl.peak_rss_mb": report.peak_rss_mb,
    }


def serve(directory: str, port: int) -> None:
    """Serve `directory` on 127.0.0.1:`port` with keep-alive, short links and room pages."""
    redirects = json.loads((Path(directory) / "redirects.json").read_text())

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real web servers do

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=directory, **kwargs)

        def do_GET(self) -> None:  # noqa: N802
            target = redirects.get(self.path.split("?", 1)[0])
            if target is None:
                super().do_GET()
                return
            self.send_response(301)
            self.send_header("Location", target)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def translate_path(self, path: str) -> str:
            # Room pages live at /s/<id>, without an extension, as on a room server.
            bare = path.split("?", 1)[0]
            if bare.startswith("/s/") and "." not in bare:
                path = bare + ".html"
            return super().translate_path(path)

        def log_message(self, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # The default queue of 5 drops connections under a concurrent crawl.
        request_queue_size = 1024
        daemon_threads = True

    with Server(("127.0.0.1", port), Handler) as server:
        server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
