"""Every crawl ends: per registrable domain, and by its page and time budgets.

These run the crawler's own command in a child process, as the worker does, and read
both its events (stdout) and its log (stderr): each stop must say so in one line.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.peers.sites import Answer, Site
from core.config import Config
from crawler.budget import registrable_domain
from tests.crawler.conftest import FAST
from worker.crawls import run_crawl

ROOT = Path(__file__).resolve().parents[2]
HTML = {"Content-Type": "text/html; charset=utf-8"}


def links(*hrefs: str) -> str:
    return "<html><body>" + "".join(f'<a href="{h}">link {h}</a>' for h in hrefs) + "</body></html>"


def crawl_child(
    urls: list[str], config: Config, *, depth: int = 1, settings: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], str, float]:
    """Run `python -m crawler.run` and return its events, its log and how long it ran."""
    command = [sys.executable, "-m", "crawler.run", *urls, "--depth", str(depth), "--json"]
    for key, value in {**FAST, **(settings or {})}.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    env = {key: value for key, value in os.environ.items() if not key.startswith("SPACES_")}
    env.update(config.child_env())
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=ROOT, timeout=120, check=True
    )
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return events, done.stderr, time.monotonic() - started


def of_kind(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [event for event in events if event["event"] == kind]


def test_registrable_domains() -> None:
    assert registrable_domain("a.b.example.co.uk") == "example.co.uk"
    assert registrable_domain("Sub-7.Maze.Example.com.") == "example.com"
    assert registrable_domain("alice.github.io") == "alice.github.io"  # a private suffix
    assert registrable_domain("x.alice.github.io") == "alice.github.io"
    assert registrable_domain("sub-3.maze.localhost") == "maze.localhost"
    assert registrable_domain("127.0.0.1") == "127.0.0.1"
    assert registrable_domain("::1") == "::1"
    assert registrable_domain("co.uk") == "co.uk"


def test_a_wildcard_dns_maze_stops_at_its_domains_budget(
    site: Site, crawl_config: Config, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Wildcard DNS, simulated: the site is every client's proxy and answers any host
    # name. Each maze page links to two new subdomains, without end.
    names = [f"sub-{n}.maze.localhost" for n in range(80)]

    def maze(headers: Message) -> Answer:
        host, _, port = headers.get("Host", "").partition(":")
        n = int(host.split(".")[0].removeprefix("sub-"))
        hrefs = [f"http://sub-{m}.maze.localhost:{port}/" for m in (2 * n + 1, 2 * n + 2)]
        return 200, HTML, links(*hrefs).encode()

    site.routes["/"] = maze
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", site.url)
    config = crawl_config.with_(crawl_allow=("127.0.0.1", *names))
    budget = {"SPACES_MAX_PAGES_PER_DOMAIN": 6}
    events, log, _ = crawl_child([f"http://sub-0.maze.localhost:{site.port}/"], config,
                                 depth=20, settings=budget)  # fmt: skip
    pages = [request for request in site.requests if not request.endswith("/robots.txt")]
    assert len(pages) == 6
    assert len({urlsplit(page).hostname for page in pages}) == 6
    assert len(site.requests) - len(pages) <= 6, "no robots.txt asked of the hosts past it"
    lines = [line for line in log.splitlines() if "page budget of 6 reached" in line]
    assert len(lines) == 1 and "maze.localhost" in lines[0]
    assert len(of_kind(events, "page")) == 6
    assert of_kind(events, "skipped"), "the refused links are counted as skipped"


def test_the_page_budget_stops_a_crawl(site: Site, crawl_config: Config) -> None:
    site.routes.update({f"/p{n}": links(f"/p{n + 1}", f"/q{n}") for n in range(40)})
    site.routes.update({f"/q{n}": "<p>leaf</p>" for n in range(40)})
    events, log, _ = crawl_child([f"{site.url}/p0"], crawl_config, depth=50,
                                 settings={"SPACES_CRAWL_MAX_PAGES": 7})  # fmt: skip
    assert len([path for path in site.paths() if path != "/robots.txt"]) == 7
    (stopped,) = of_kind(events, "stopped")
    assert stopped["requests"] == 7 and "SPACES_CRAWL_MAX_PAGES" in stopped["reason"]
    lines = [line for line in log.splitlines() if "crawl stopped" in line]
    assert len(lines) == 1
    assert re.search(r"page budget of 7 pages reached .* after 7 requests in [\d.]+ s", lines[0])


def test_the_time_budget_stops_a_crawl_even_behind_a_long_crawl_delay(
    site: Site, crawl_config: Config
) -> None:
    # Without the budget this crawl would take six minutes: one request a minute.
    pages = [f"/p{n}" for n in range(5)]
    site.routes.update(
        {
            "/robots.txt": (
                200,
                {"Content-Type": "text/plain"},
                b"User-agent: *\nCrawl-delay: 60\n",
            ),
            "/": links(*pages),
            **{path: "<p>slow</p>" for path in pages},
        }
    )
    events, log, seconds = crawl_child([f"{site.url}/"], crawl_config,
                                       settings={"SPACES_CRAWL_MAX_SECONDS": 3})  # fmt: skip
    assert seconds < 30
    # robots.txt was the host's first request: the start page waits a minute behind it.
    assert site.paths() == ["/robots.txt"]
    (stopped,) = of_kind(events, "stopped")
    assert "SPACES_CRAWL_MAX_SECONDS" in stopped["reason"] and stopped["seconds"] >= 3
    lines = [line for line in log.splitlines() if "crawl stopped" in line]
    assert len(lines) == 1 and "time budget of 3 s reached" in lines[0]
    assert of_kind(events, "done")


def test_an_operator_sets_the_budgets_in_the_environment(site: Site, crawl_config: Config) -> None:
    site.routes.update({f"/p{n}": links(f"/p{n + 1}") for n in range(20)})
    env = {**crawl_config.child_env(), "SPACES_CRAWL_MAX_PAGES": "4"}
    config = Config.from_env(env)
    assert config.child_env()["SPACES_CRAWL_MAX_PAGES"] == "4", "handed on to the crawl"
    report = run_crawl([f"{site.url}/p0"], config, depth=50, settings=FAST)
    assert len([path for path in site.paths() if path != "/robots.txt"]) == 4
    assert report.pages == 4
    for bad in ("-1", "many", "2.5"):
        with pytest.raises(ValueError, match="SPACES_CRAWL_MAX_PAGES must be a whole number"):
            Config.from_env({**env, "SPACES_CRAWL_MAX_PAGES": bad})
