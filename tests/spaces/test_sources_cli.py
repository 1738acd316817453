"""`spaces sources`: kinds recognised from URLs, bad URLs refused one by one, health listed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bench.peers.sites import Site
from core.catalog.models import Source
from core.catalog.sources import record_source_run
from core.services import Services
from core.timeutil import utcnow
from spaces.cli import main


@pytest.fixture
def cli_env(services: Services, monkeypatch: pytest.MonkeyPatch) -> Services:
    """Point the command at the test's catalog, Redis and an X API of its own."""
    for key, value in services.config.child_env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("SPACES_X_API_URL", "http://127.0.0.1:9/x")
    return services


def stored(services: Services) -> dict[str, tuple[str, str]]:
    with services.catalog.session() as session:
        return {s.url: (s.kind, s.query) for s in session.scalars(select(Source))}


def test_one_bad_url_among_good_ones(cli_env: Services, capsys: pytest.CaptureFixture[str]) -> None:
    urls = ["https://a.test/spaces", "ftp://bad.test/x", "https://b.test/feed.xml", "not a url"]
    assert main(["sources", "add", *urls, "--interval", "600"]) == 1
    out, err = capsys.readouterr()
    assert stored(cli_env) == {
        "https://a.test/spaces": ("page", ""),
        "https://b.test/feed.xml": ("page", ""),
    }
    refused = [line for line in err.splitlines() if line.startswith("refused")]
    assert refused == [
        "refused ftp://bad.test/x: 'ftp://bad.test/x' is not a page source address; "
        "give a full http:// or https:// URL",
        "refused not a url: 'not a url' is not a page source address; "
        "give a full http:// or https:// URL",
    ]
    assert "Traceback" not in err
    assert out.count("every 600 s") == 2


def test_kinds_are_recognised_from_urls(cli_env: Services) -> None:
    urls = [
        "wss://relay.test",
        "https://mastodon.test/tags/spaces",
        "https://mastodon.test/@alice",
        "https://bsky.app/profile/alice.test",
        "https://blog.test/",
    ]
    assert main(["sources", "add", *urls]) == 0
    assert main(["sources", "add", "--kind", "xsearch", "--query", "live audio"]) == 0
    kinds = {kind for kind, _query in stored(cli_env).values()}
    assert kinds == {"nostr", "mastodon", "bluesky", "page", "xsearch"}
    found = stored(cli_env)
    assert found["https://blog.test/"] == ("page", "")
    xsearch = [url for url, (kind, _q) in found.items() if kind == "xsearch"]
    assert xsearch == ["http://127.0.0.1:9/x/2/spaces/search?query=live+audio"]
    assert found[xsearch[0]] == ("xsearch", "live audio")


def test_kind_given_always_wins(cli_env: Services) -> None:
    assert main(["sources", "add", "https://mastodon.test/tags/spaces", "--kind", "page"]) == 0
    assert main(["sources", "add", "wss://relay.test", "--kind", "nostr", "--query", "audio"]) == 0
    assert stored(cli_env) == {
        "https://mastodon.test/tags/spaces": ("page", ""),
        "wss://relay.test/": ("nostr", "audio"),
    }


def test_bad_kind_and_missing_query_are_refused(
    cli_env: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "https://a.test/", "--kind", "carrier-pigeon"]) == 1
    assert main(["sources", "add", "--kind", "xsearch"]) == 1
    assert main(["sources", "add"]) == 1
    err = capsys.readouterr().err
    assert "unknown source kind 'carrier-pigeon'" in err
    assert "needs a query" in err
    assert "give the URL of at least one source" in err
    assert stored(cli_env) == {}


def test_list_shows_kind_query_and_health(
    cli_env: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sources", "add", "https://mastodon.test/tags/spaces", "https://ok.test/"]) == 0
    now = utcnow()
    with cli_env.catalog.session() as session:
        ids = {s.url: s.id for s in session.scalars(select(Source))}
        record_source_run(
            session, ids["https://ok.test/"], pages=2, spaces=1, errors=0, duration_s=1, now=now
        )
        for minutes in (5, 3):
            record_source_run(
                session,
                ids["https://mastodon.test/tags/spaces"],
                pages=0,
                spaces=0,
                errors=1,
                duration_s=0.1,
                reason="http_5xx",
                status=503,
                now=now - timedelta(minutes=minutes),
            )
    capsys.readouterr()
    assert main(["sources", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "mastodon" in out[0] and "https://mastodon.test/tags/spaces" in out[0]
    assert (
        out[1]
        .strip()
        .startswith(
            "failing (2 in a row): http_5xx, the server failed to answer (HTTP 5xx), HTTP 503; "
            "last ok never"
        )
    )
    assert "page" in out[2] and "https://ok.test/" in out[2]
    assert out[3].strip().startswith("ok; last ok")
    assert "2 pages, 1 spaces, 0 errors" in out[3]


ROOM = """<html><head><title>Night owls</title>
<script type="application/ld+json">{"@type": "BroadcastEvent", "name": "Night owls",
 "isLiveBroadcast": true, "startDate": "2026-01-01T10:00:00Z"}</script>
</head><body></body></html>"""


def test_crawl_once_prints_what_it_found_and_adds_no_source(
    services: Services, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    site = Site("127.0.0.1").start()
    try:
        site.routes["/s/owls"] = ROOM
        site.routes["/post"] = f'<html><body><a href="{site.url}/s/owls">listen</a></body></html>'
        for key, value in services.config.with_(crawl_allow=("127.0.0.1",)).child_env().items():
            monkeypatch.setenv(key, value)
        assert main(["crawl", f"{site.url}/post", "--once", "--kind", "page"]) == 0
    finally:
        site.stop()
    out, err = capsys.readouterr()
    assert f"live       {site.url}/s/owls  Night owls" in out
    assert stored(services) == {}
    assert main(["crawl", "--once"]) == 2
    assert "give at least one URL" in capsys.readouterr().err
