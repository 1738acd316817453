"""A host may open a room under a chosen id: free, or theirs and ended (opened again)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from rooms.client import end_room, join_host
from tests.rooms.conftest import ServerThread, host_token, run


async def post(server: ServerThread, body: dict[str, Any], token: str) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{server.url}/api/rooms", json=body, headers=headers) as resp,
    ):
        return resp.status, json.loads(await resp.text())


def test_chosen_id_is_kept_reopened_by_its_host_and_refused_to_others(
    server: ServerThread,
) -> None:
    async def scenario() -> None:
        alice = host_token()
        status, first = await post(server, {"id": "weekly-jazz", "title": "Jazz #1"}, alice)
        assert status == 201 and first["id"] == "weekly-jazz" and first["state"] == "live"
        assert first["share_url"] == f"{server.url}/s/weekly-jazz"
        # Asking again while it is open: that same room, unchanged.
        status, again = await post(server, {"id": "weekly-jazz", "title": "Other"}, alice)
        assert status == 200 and again["title"] == "Jazz #1"
        assert again["started_at"] == first["started_at"]
        status, body = await post(server, {"id": "weekly-jazz", "title": "Mine"}, host_token("eve"))
        assert status == 409 and "another host" in body["error"]
        host = await join_host(server.url, "weekly-jazz", alice)  # records a little audio
        await host.close()
        await end_room(server.url, "weekly-jazz", alice)
        # Ended: someone else still cannot take the address.
        status, body = await post(server, {"id": "weekly-jazz", "title": "Mine"}, host_token("eve"))
        assert status == 409
        status, second = await post(server, {"id": "weekly-jazz", "title": "Jazz #2"}, alice)
        assert status == 201 and second["state"] == "live" and second["title"] == "Jazz #2"
        assert second["ended_at"] is None and second["recording_url"] == ""
        listing = await _sitemap(server)
        assert listing.count("/s/weekly-jazz<") == 1  # one address, one listing

    run(scenario())
    # The earlier run's replay was replaced: the folder now describes the new, live run.
    meta = json.loads(
        (server.config.data_dir / "recordings" / "weekly-jazz" / "meta.json").read_text()
    )
    assert meta["title"] == "Jazz #2" and meta["ended_at"] is None


async def _sitemap(server: ServerThread) -> str:
    async with aiohttp.ClientSession() as session, session.get(f"{server.url}/sitemap.xml") as r:
        return await r.text()
