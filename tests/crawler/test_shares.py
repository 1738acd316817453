"""Every page that shares a space is a sighting; short links resolve; unchanged pages wait."""

from __future__ import annotations

from datetime import timedelta
from email.message import Message

from sqlalchemy import select

from bench.peers.sites import Answer, Site
from core.catalog.models import Sighting, Space
from core.config import Config
from core.services import Services
from core.timeutil import utcnow
from crawler.revisit import MAX_INTERVAL_S, MIN_INTERVAL_S, next_interval
from portal.queries import TRENDING_WINDOW, share_counts, trending
from tests.crawler.conftest import FAST
from tests.crawler.test_crawl import ROOM
from worker.crawls import run_crawl

X_SHORT = "https://x.com/i/spaces/1ShortLinkXyz"


def page(*anchors: tuple[str, str]) -> str:
    body = "".join(f'<p><a href="{href}">{text}</a></p>' for href, text in anchors)
    return f"<html><body>{body}</body></html>"


def test_every_sharing_page_is_a_sighting_and_short_links_record_the_final_url(
    site: Site, crawl_config: Config, services: Services
) -> None:
    site.routes.update(
        {
            "/": page(("/a", "A"), ("/b", "B"), ("/j1", "Jazz, short"), ("/j2", "Birds at dawn")),
            "/a": page(("/s/r1", "Jazz on A"), ("/s/r2", "News")),
            "/b": page(("/s/r1?utm_source=b", "Jazz on B")),
            # Shorteners: one to a room page, one to an X Space (never fetched itself).
            "/j1": (302, {"Location": "/s/r1?utm_medium=short"}, b""),
            "/j2": (301, {"Location": f"{X_SHORT}?s=20"}, b""),
            "/s/r1": ROOM.format(title="Late night jazz", id="r1"),
            "/s/r2": ROOM.format(title="Morning news", id="r2"),
        }
    )
    report = run_crawl([f"{site.url}/"], crawl_config, depth=3, settings=FAST)
    assert report.errors == 0, report.error_messages
    base = site.url
    with services.catalog.session() as session:
        spaces = {s.canonical_url: s for s in session.scalars(select(Space)).unique()}
        assert set(spaces) == {f"{base}/s/r1", f"{base}/s/r2", X_SHORT}
        birds = spaces[X_SHORT]
        assert (birds.platform, birds.title) == ("x", "Birds at dawn")
        sightings = {
            (s.space.canonical_url, s.page_url, s.anchor_text)
            for s in session.scalars(select(Sighting))
        }
        assert sightings == {
            (f"{base}/s/r1", f"{base}/a", "Jazz on A"),
            (f"{base}/s/r1", f"{base}/b", "Jazz on B"),
            (f"{base}/s/r1", f"{base}/", "Jazz, short"),
            (f"{base}/s/r2", f"{base}/a", "News"),
            (X_SHORT, f"{base}/", "Birds at dawn"),
        }
        jazz, news = spaces[f"{base}/s/r1"].id, spaces[f"{base}/s/r2"].id
        assert [space.id for space, _ in trending(session, utcnow(), limit=2)][0] == jazz
        assert share_counts(session, [jazz, news]) == {jazz: 3, news: 1}
        # Trending counts the pages that still showed the link within its window.
        later = utcnow() + TRENDING_WINDOW + timedelta(hours=1)
        assert trending(session, later) == []


def test_conditional_requests_and_rarely_changing_pages_fetched_rarely(
    site: Site, crawl_config: Config
) -> None:
    answers: list[int] = []

    def tagged(headers: Message) -> Answer:
        status = 304 if headers.get("If-None-Match") == '"v1"' else 200
        answers.append(status)
        body = b"" if status == 304 else ROOM.format(title="Tagged", id="t").encode()
        return status, {"ETag": '"v1"', "Content-Type": "text/html"}, body

    site.routes.update(
        {"/": page(("/tagged", "T"), ("/plain", "P")), "/tagged": tagged, "/plain": "<p>same</p>"}
    )
    first = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert answers == [200] and len(first.spaces) == 1
    # Due again at once: nothing has shown yet that they rarely change.
    second = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert answers == [200, 304] and second.errors == 0
    assert site.paths().count("/plain") == 2
    # Both came back unchanged (a 304; the same body), so they wait before the next visit.
    third = run_crawl([f"{site.url}/"], crawl_config, settings=FAST)
    assert answers == [200, 304] and site.paths().count("/plain") == 2
    assert third.skipped == 2 and site.paths().count("/") == 3, "start URLs always go"


def test_revisit_intervals_back_off_when_unchanged_and_recover_on_change() -> None:
    interval = 0.0
    for expected in (MIN_INTERVAL_S, MIN_INTERVAL_S * 2, MIN_INTERVAL_S * 4):
        interval = next_interval(interval, unchanged=True)
        assert interval == expected
    assert next_interval(MAX_INTERVAL_S, unchanged=True) == MAX_INTERVAL_S
    assert next_interval(MIN_INTERVAL_S * 4, unchanged=False) == MIN_INTERVAL_S * 2
    assert next_interval(MIN_INTERVAL_S, unchanged=False) == 0.0
