"""Build the room server's aiohttp application: pages, JSON API, directory, WebSocket."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from rooms import api, media_api, metrics, pages, retention
from rooms.config import RoomsConfig
from rooms.hub import HUB, RoomHub
from rooms.signaling import websocket_handler

ROOM_ID = r"{room_id:[A-Za-z0-9_-]{1,64}}"
STATIC_DIR = Path(__file__).parent / "static"


def create_app(config: RoomsConfig) -> web.Application:
    """Return the room server application; live rooms are kept for the next start."""
    app = web.Application(client_max_size=64 * 1024)
    app[HUB] = RoomHub(config)
    app[pages.TEMPLATES] = pages.make_templates()
    app.router.add_get(f"/s/{ROOM_ID}", pages.room_page)
    app.router.add_get(f"/s/{ROOM_ID}/embed", pages.embed_page)
    app.router.add_get(f"/api/rooms/{ROOM_ID}", api.room_status)
    app.router.add_delete(f"/api/rooms/{ROOM_ID}", api.end_room)
    app.router.add_post("/api/rooms", api.create_room)
    app.router.add_get("/rooms.atom", pages.atom_feed)
    app.router.add_get("/sitemap.xml", pages.sitemap)
    app.router.add_get("/metrics", metrics.exposition)
    app.router.add_get(f"/ws/rooms/{ROOM_ID}", websocket_handler)
    app.router.add_static("/static/rooms/", STATIC_DIR)
    # media: recordings (host only), HLS, and the periodic recording purge.
    app.router.add_get(f"/api/rooms/{ROOM_ID}/recording", media_api.download_audio)
    app.router.add_get(f"/api/rooms/{ROOM_ID}/captions.vtt", media_api.download_captions)
    app.router.add_get(f"/hls/{ROOM_ID}/{{name}}", media_api.serve_hls)
    retention.setup(app, config)
    app.on_startup.append(_startup)
    app.on_shutdown.append(_shutdown)
    return app


async def _startup(app: web.Application) -> None:
    app[HUB].start_housekeeping()


async def _shutdown(app: web.Application) -> None:
    await app[HUB].shutdown()
