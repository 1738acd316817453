"""The JSON API: room status, creating rooms and ending them."""

from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from rooms.hub import HUB, RoomHub
from rooms.room import RoomError
from rooms.store import isoformat, parse_iso, utcnow
from rooms.tokens import Claims, TokenError, verify_token

MAX_BODY_BYTES = 16 * 1024
LIMITS = {"title": 120, "description": 2000}
MAX_TOPICS, MAX_TOPIC_CHARS = 10, 32
TOPIC_RE = re.compile(r"[\w][\w-]*")
LANG_RE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}")
ROOM_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the ids the routes accept
CORS = {"Access-Control-Allow-Origin": "*"}


def json_error(status: int, message: str, **headers: str) -> web.Response:
    """Return `{"error": message}` with an HTTP status."""
    return web.json_response({"error": message}, status=status, headers=headers or None)


def bearer_claims(request: web.Request, *, room_id: str | None, need: str) -> Claims:
    """Return the claims of the request's Bearer token, or raise TokenError."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("send the host's token as 'Authorization: Bearer <token>'")
    return verify_token(request.app[HUB].config.secret, token.strip(), room_id=room_id, need=need)


async def room_status(request: web.Request) -> web.Response:
    """GET /api/rooms/<id>: the room's public status (CORS-open for the portal)."""
    hub: RoomHub = request.app[HUB]
    record = hub.store.get(request.match_info["room_id"])
    if record is None:
        return json_error(404, "no such room; check the link", **CORS)
    return web.json_response(hub.status(record), headers=CORS)


async def create_room(request: web.Request) -> web.Response:
    """POST /api/rooms: create a room for the token's identity (host grant)."""
    hub: RoomHub = request.app[HUB]
    try:
        claims = bearer_claims(request, room_id=None, need="host")
    except TokenError as exc:
        return json_error(401 if "Authorization" not in request.headers else 403, str(exc))
    if claims.room != "*":
        return json_error(403, "this token is for one room; creating rooms needs a '*' token")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return json_error(413, f"request body over {MAX_BODY_BYTES} bytes; shorten it")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        return json_error(413, f"request body over {MAX_BODY_BYTES} bytes; shorten it")
    try:
        fields = validate_room_fields(json.loads(raw or b"null"))
    except ValueError as exc:
        return json_error(400, str(exc))
    try:
        record = hub.create(
            claims.identity,
            claims.name,
            fields,
            host_handle=claims.handle,
            host_profile=claims.profile,
        )
    except RoomError as exc:
        earlier = hub.store.get(fields["id"])
        if exc.code == "open" and earlier is not None:
            # Asking again for one's own open room is not an error: here it is.
            return web.json_response(hub.status(earlier), status=200, headers=CORS)
        return json_error(409, exc.message + "; choose another id or leave 'id' out")
    return web.json_response(hub.status(record), status=201, headers=CORS)


async def end_room(request: web.Request) -> web.Response:
    """DELETE /api/rooms/<id>: the room's host ends it for everyone."""
    hub: RoomHub = request.app[HUB]
    room_id = request.match_info["room_id"]
    record = hub.store.get(room_id)
    if record is None:
        return json_error(404, "no such room; check the link")
    try:
        claims = bearer_claims(request, room_id=room_id, need="host")
    except TokenError as exc:
        return json_error(401 if "Authorization" not in request.headers else 403, str(exc))
    if claims.identity != record.host_identity:
        return json_error(403, "only the room's own host can end it")
    await hub.end(record)
    return web.json_response(hub.status(record), headers=CORS)


def validate_room_fields(body: Any) -> dict[str, Any]:
    """Check a create-room body and return clean fields, or raise ValueError saying why."""
    if not isinstance(body, dict):
        raise ValueError("send a JSON object with at least a 'title'")
    allowed = {"id", "title", "description", "topics", "lang", "scheduled_start"}
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; allowed: {sorted(allowed)}")
    fields: dict[str, Any] = {}
    for key, limit in LIMITS.items():
        value = body.get(key, "")
        if not isinstance(value, str):
            raise ValueError(f"'{key}' must be a string")
        value = " ".join(value.split()) if key == "title" else value.strip()
        if len(value) > limit:
            raise ValueError(f"'{key}' is {len(value)} characters; the limit is {limit}")
        fields[key] = value
    if not fields["title"]:
        raise ValueError("'title' is required and must not be blank")
    fields["topics"] = _topics(body.get("topics", []))
    lang = body.get("lang", "")
    if not isinstance(lang, str) or (lang and not LANG_RE.fullmatch(lang)):
        raise ValueError("'lang' must be a language tag such as 'en' or 'pt-BR'")
    fields["lang"] = lang
    fields["scheduled_start"] = _scheduled(body.get("scheduled_start"))
    room_id = body.get("id", "")
    if not isinstance(room_id, str) or (room_id and not ROOM_ID_RE.fullmatch(room_id)):
        raise ValueError("'id' must be 1-64 letters, digits, _ or - (or left out for a new one)")
    if room_id:
        fields["id"] = room_id
    return fields


def _topics(topics: Any) -> list[str]:
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise ValueError("'topics' must be a list of strings")
    if len(topics) > MAX_TOPICS:
        raise ValueError(f"'topics' has {len(topics)} entries; the limit is {MAX_TOPICS}")
    clean: list[str] = []
    for topic in topics:
        topic = topic.strip().lower()
        if not topic or len(topic) > MAX_TOPIC_CHARS or not TOPIC_RE.fullmatch(topic):
            raise ValueError(
                f"topic {topic[:40]!r} must be 1-{MAX_TOPIC_CHARS} letters, digits, _ or -"
            )
        if topic not in clean:
            clean.append(topic)
    return clean


def _scheduled(value: Any) -> str | None:
    """Return a future start time in ISO form, or None to start now."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError("'scheduled_start' must be an ISO 8601 time string or null")
    try:
        when = parse_iso(value)
    except ValueError as exc:
        raise ValueError("'scheduled_start' is not an ISO 8601 time (2030-01-31T18:00Z)") from exc
    if when is None or when <= utcnow():
        return None  # a start in the past means: start now
    return isoformat(when)
