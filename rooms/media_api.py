"""The room server's media downloads: a space's recording and captions, and its HLS stream."""

from __future__ import annotations

from aiohttp import web

from rooms.api import CORS, json_error
from rooms.hls import NAME_RE, PLAYLIST, PLAYLIST_CACHE, SEGMENT_CACHE, folder_for
from rooms.hub import HUB
from rooms.recording import AUDIO, CAPTIONS, RECORDINGS


async def download_audio(request: web.Request) -> web.StreamResponse:
    """GET /api/rooms/<id>/recording: the ended space's Ogg Opus recording, for anyone."""
    return await _download(request, AUDIO, "audio/ogg")


async def download_captions(request: web.Request) -> web.StreamResponse:
    """GET /api/rooms/<id>/captions.vtt: the ended space's captions, for anyone."""
    return await _download(request, CAPTIONS, "text/vtt")


async def _download(request: web.Request, name: str, content_type: str) -> web.StreamResponse:
    # A replay: open to everyone once the space has ended, never while it is live.
    store = request.app[RECORDINGS]
    room_id = request.match_info["room_id"]
    what = "recording" if name == AUDIO else "captions"
    meta = store.meta(room_id)
    if meta is None:
        return json_error(404, "this space has no recording", **CORS)
    live = room_id in request.app[HUB].live
    if store.expired(room_id, meta, live=live):
        days = store.keep_s / 86400
        return json_error(
            410, f"recordings are kept {days:g} days after a space ends; this one is gone", **CORS
        )
    if live:
        return json_error(
            409, f"the space is still live; its {what} can be played once it ends", **CORS
        )
    path = store.path(room_id) / name
    if not path.exists():
        return json_error(404, f"this space has no {what}", **CORS)
    filename = f"space-{room_id}.{name.rsplit('.', 1)[1]}"
    return web.FileResponse(
        path,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "public, max-age=300",
            **CORS,
        },
    )


async def serve_hls(request: web.Request) -> web.StreamResponse:
    """GET /hls/<id>/<name>: the playlist, the init segment or a media segment."""
    hub = request.app[HUB]
    room_id, name = request.match_info["room_id"], request.match_info["name"]
    cors = {"Access-Control-Allow-Origin": "*"}
    if not NAME_RE.match(name) or room_id not in hub.live or not hub.config.hls:
        raise web.HTTPNotFound(text="no such live stream; the space may have ended")
    path = folder_for(hub.config.data_dir, room_id) / name
    if not path.exists():
        raise web.HTTPNotFound(text="not written yet or already expired; reload the playlist")
    if name == PLAYLIST:
        return web.Response(
            body=path.read_bytes(),
            content_type="application/vnd.apple.mpegurl",
            headers={"Cache-Control": PLAYLIST_CACHE, **cors},
        )
    return web.FileResponse(
        path,
        headers={"Content-Type": "audio/mp4", "Cache-Control": SEGMENT_CACHE, **cors},
    )
