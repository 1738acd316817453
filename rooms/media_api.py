"""The room server's media downloads: a space's recording and captions, and its HLS stream."""

from __future__ import annotations

import os
from email.utils import formatdate

from aiohttp import web

from rooms.api import CORS, json_error
from rooms.hls import (
    MISSING_CACHE,
    NAME_RE,
    PLAYLIST,
    PLAYLIST_CACHE,
    SEGMENT_CACHE,
    folder_for,
)
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


async def serve_hls(request: web.Request) -> web.Response:
    """GET /hls/<id>/<name>: the playlist, the init segment or a media segment.

    Answers carry the cache headers that let any HTTP cache in front serve a crowd:
    segments are immutable (rooms.hls names them once per run), the playlist lives one
    segment, misses a moment; all carry a validator (ETag, Last-Modified) and CORS.
    """
    hub = request.app[HUB]
    room_id, name = request.match_info["room_id"], request.match_info["name"]
    if not NAME_RE.match(name) or room_id not in hub.live or not hub.config.hls:
        return _hls_missing("no such live stream; the space may have ended")
    folder = folder_for(hub.config.data_dir, room_id)
    # The init segment is complete only once the first segment is listed.
    if name != PLAYLIST and not (folder / PLAYLIST).exists():
        return _hls_missing("the stream has not started yet; reload the playlist")
    try:
        # Read through one open file: the muxer may delete or replace it meanwhile.
        with (folder / name).open("rb") as file:
            body, st = file.read(), os.fstat(file.fileno())
    except FileNotFoundError:
        return _hls_missing("not written yet or already expired; reload the playlist")
    playlist = name == PLAYLIST
    headers = {
        "Cache-Control": PLAYLIST_CACHE if playlist else SEGMENT_CACHE,
        "ETag": f'"{st.st_mtime_ns:x}-{st.st_size:x}"',
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        **CORS,
    }
    # Last-Modified has whole seconds: a segment never changes, so its second will do;
    # the playlist can change within one, so only its exact time (never matched) does.
    mtime = st.st_mtime if playlist else float(int(st.st_mtime))
    if _not_modified(request, headers["ETag"], mtime):
        return web.Response(status=304, headers=headers)
    content_type = "application/vnd.apple.mpegurl" if playlist else "audio/mp4"
    return web.Response(body=body, headers={"Content-Type": content_type, **headers})


def _not_modified(request: web.Request, etag: str, mtime: float) -> bool:
    # RFC 9110 13.2.2: If-None-Match wins over If-Modified-Since when both are sent.
    if (tags := request.if_none_match) is not None:
        return any(tag.value in (etag.strip('"'), "*") for tag in tags)
    since = request.if_modified_since
    return since is not None and mtime <= since.timestamp()


def _hls_missing(message: str) -> web.Response:
    # Short-lived, so a cache absorbs a crowd asking but soon asks again.
    headers = {"Cache-Control": MISSING_CACHE, **CORS}
    return web.Response(status=404, text=message, headers=headers)
