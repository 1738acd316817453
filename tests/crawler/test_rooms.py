"""Crawl the project's real room server: its directory, its room pages, their metadata."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from core.catalog.models import Space
from core.config import Config
from core.services import Services
from tests.crawler.conftest import FAST
from tests.crawler.roomserver import RoomServer
from worker.crawls import run_crawl


@pytest.fixture
def rooms(tmp_path: Path) -> Iterator[RoomServer]:
    server = RoomServer(tmp_path / "rooms-var").start()
    yield server
    server.stop()


def test_room_pages_read_right_from_the_real_room_server(
    rooms: RoomServer, crawl_config: Config, services: Services
) -> None:
    later = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)
    live = rooms.open_room(
        "ann",
        "Ann Lee",
        title="Late night <b>jazz</b>",
        description="Standards and stories from the road #vinyl",
        topics=["jazz", "music"],
        lang="en",
    )
    scheduled = rooms.open_room(
        "bea",
        "Beatriz Sousa",
        title="Conversa sobre música brasileira",
        description="Uma conversa longa sobre samba, bossa nova e os discos que mudaram tudo",
        scheduled_start=later.isoformat().replace("+00:00", "Z"),
    )
    ended = rooms.open_room("cy", "Cy Twombly", title="Short chat", description="Over soon")
    rooms.end_room("cy", "Cy Twombly", ended["id"])

    report = run_crawl([f"{rooms.url}/rooms.atom"], crawl_config, depth=1, settings=FAST)
    assert report.errors == 0, report.error_messages
    with services.catalog.session() as session:
        spaces = {s.canonical_url: s for s in session.scalars(select(Space)).unique()}
        assert set(spaces) == {f"{rooms.url}/s/{r['id']}" for r in (live, scheduled, ended)}
        jazz = spaces[f"{rooms.url}/s/{live['id']}"]
        assert (jazz.platform, jazz.state, jazz.title) == ("rooms", "live", "Late night jazz")
        assert jazz.description == "Standards and stories from the road #vinyl"
        assert (jazz.host.handle, jazz.host.name) == ("ann", "Ann Lee")
        assert jazz.status_url == f"{rooms.url}/api/rooms/{live['id']}"
        assert jazz.player_url == f"{rooms.url}/s/{live['id']}/embed"
        assert jazz.started_at is not None and jazz.scheduled_start is None
        assert set(jazz.topics) == {"jazz", "music", "vinyl"} and jazz.lang == "en"

        talk = spaces[f"{rooms.url}/s/{scheduled['id']}"]
        # The room server's JSON-LD always says isLiveBroadcast; the page's state decides.
        assert talk.state == "scheduled"
        assert talk.scheduled_start == later and talk.started_at is None
        assert talk.host.handle == "bea" and talk.host.name == "Beatriz Sousa"
        # No language given: the page's <html lang> is the template's default "en",
        # but the text is Portuguese.
        assert talk.lang == "pt"

        chat = spaces[f"{rooms.url}/s/{ended['id']}"]
        assert chat.state == "ended" and chat.ended_at is not None
        assert chat.player_url == f"{rooms.url}/s/{ended['id']}/embed"
