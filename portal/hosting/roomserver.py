"""Talk to the configured room server on a host's behalf, with tokens minted here.

Tokens name a person three ways (see core.roomtokens): `sub` is the stable identity
"user-<id>" the room server checks permissions by; `name` is their display name; the
`handle` and `profile` claims are their public handle and the URL of their profile here,
so the room shows hosts and signed-in listeners as who they are, never "Guest N".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urljoin

from core.catalog.models import User
from core.config import Config
from core.roomtokens import mint_room_token
from portal.hosting import roomhttp

CREATE_TTL_S = 60  # the token only has to survive one request
GO_TTL_S = 900  # long enough to open the room page and connect; reconnects ask again
DOWNLOAD_TTL_S = 120
LISTEN_TTL_S = 12 * 3600  # a listener's evening in the room; the page asks again after
# Every call has its connection within roomhttp.CONNECT_TIMEOUT_S and its whole answer
# within roomhttp.TOTAL_TIMEOUT_S, so a hung room server never hangs a portal page; the
# dashboard waits less for the rooms' status it shows beside them.
STATUS_TIMEOUT_S = 2.0
CHUNK = 64 * 1024


class HostingRefused(Exception):
    """The account may not host (a protected account); the message says so."""


class RoomServerError(Exception):
    """The room server refused or could not be reached; the message says what to do."""

    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


def identity(user: User) -> str:
    """Return the identity the room server knows this user by."""
    return f"user-{user.id}"


def display_name(user: User) -> str:
    """Return the name the room shows for `user`."""
    return user.display_name or user.handle or user.email.split("@", 1)[0]


def profile_url(config: Config, user: User) -> str:
    """Return the address of the user's public profile on the portal ("" if it has none)."""
    url = f"{config.portal_url.rstrip('/')}/hosts/{quote(user.handle, safe='')}"
    return url if url.startswith(("http://", "https://")) and len(url) <= 300 else ""


def listen_token(config: Config, user: User, profile_url: str) -> str:
    """Mint a listen token for a signed-in person, so rooms show their name and handle."""
    return mint_room_token(
        config.rooms_secret,
        identity(user),
        name=display_name(user),
        grants=("listen",),
        ttl=LISTEN_TTL_S,
        protected=user.protected,
        handle=user.handle,
        profile=profile_url,
    )


def host_token(config: Config, user: User, *, room: str = "*", ttl: int = GO_TTL_S) -> str:
    """Mint a host token for `user`; a protected account is refused, never granted."""
    if user.protected or not user.is_host:
        raise HostingRefused(
            "This account is protected, so it can never host a room. "
            "Use another account to host, or ask an admin."
            if user.protected
            else "Only host accounts can open rooms. Ask an admin to make you a host."
        )
    return mint_room_token(
        config.rooms_secret,
        identity(user),
        name=display_name(user),
        grants=("host",),
        room=room,
        ttl=ttl,
        protected=user.protected,
        handle=user.handle,
        profile=profile_url(config, user),
    )


def _checked(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise RoomServerError("SPACES_ROOMS_URL must be an http:// or https:// address", 500)
    return url


def _unreachable(rooms_url: str, error: object) -> RoomServerError:
    return RoomServerError(
        f"The room server at {rooms_url} did not answer ({error}). "
        "Nothing was lost: check the details and try again in a minute.",
        status=503,
    )


def _refusal(body: bytes, status: int) -> str:
    try:
        said = json.loads(body or b"{}").get("error")
    except (ValueError, AttributeError):
        said = None
    return str(said or f"HTTP {status}")


def create_room(config: Config, user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """Open a room for `user` on the room server and return its status JSON."""
    token = host_token(config, user, ttl=CREATE_TTL_S)
    try:
        answer = roomhttp.call(
            _checked(f"{config.rooms_url}/api/rooms"),
            method="POST",
            body=json.dumps(fields).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
    except roomhttp.Unanswered as error:
        raise _unreachable(config.rooms_url, error) from None
    if answer.status >= 500:
        raise _unreachable(config.rooms_url, f"HTTP {answer.status}")
    if answer.status >= 400:
        refusal = _refusal(answer.body, answer.status)
        raise RoomServerError(f"The room server refused: {refusal}", 400)
    try:
        body = answer.json()
    except ValueError:
        raise RoomServerError("The room server's answer was not JSON; tell its operator.") from None
    if not isinstance(body, dict) or not body.get("id") or not body.get("share_url"):
        raise RoomServerError("The room server's answer had no room id; tell its operator.")
    return body


def room_page_url(config: Config, user: User, room_id: str, rooms_url: str) -> str:
    """Return the room's page with a fresh host token in the fragment (never sent to servers)."""
    token = host_token(config, user, room=room_id)
    return f"{rooms_url}/s/{quote(room_id, safe='')}#token={quote(token, safe='')}"


def download_recording(
    config: Config, user: User, room_id: str, rooms_url: str
) -> tuple[Iterator[bytes], dict[str, str]]:
    """Open the room's recording on the room server; return its chunks and headers."""
    token = host_token(config, user, room=room_id, ttl=DOWNLOAD_TTL_S)
    url = _checked(f"{rooms_url}/api/rooms/{quote(room_id, safe='')}/recording")
    try:
        connection, response = roomhttp.open_stream(
            url, headers={"Authorization": f"Bearer {token}"}
        )
    except roomhttp.Unanswered as error:
        raise _unreachable(rooms_url, error) from None
    if response.status != 200:
        try:
            said = _refusal(response.read(16_384), response.status)
        except OSError:
            said = f"HTTP {response.status}"
        finally:
            connection.close()
        status = response.status if response.status in (404, 409, 410) else 502
        raise RoomServerError(f"No recording to download: {said}", status)
    headers = {
        "Content-Type": response.headers.get("Content-Type", "audio/ogg"),
        "Content-Disposition": response.headers.get(
            "Content-Disposition", f'attachment; filename="space-{room_id}.ogg"'
        ),
        "Cache-Control": "private, no-store",
    }

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := response.read(CHUNK):
                yield chunk
        finally:
            connection.close()

    return chunks(), headers


def room_status(rooms_url: str, room_id: str) -> dict[str, Any] | None:
    """Return a room's public status JSON, or None when the server does not answer well."""
    url = f"{rooms_url}/api/rooms/{quote(room_id, safe='')}"
    try:
        answer = roomhttp.call(_checked(url), total_s=STATUS_TIMEOUT_S)
        body = answer.json() if answer.status == 200 else None
    except (RoomServerError, roomhttp.Unanswered, ValueError):
        return None
    return body if isinstance(body, dict) else None


def rooms_status(rooms: list[tuple[str, str]]) -> list[dict[str, Any] | None]:
    """Return the status JSON of each (rooms_url, room_id), asked all at once."""
    if not rooms:
        return []
    with ThreadPoolExecutor(max_workers=min(8, len(rooms))) as pool:
        return list(pool.map(lambda pair: room_status(*pair), rooms))


def media_link(rooms_url: str, path: object) -> str:
    """Return the room server's absolute link for a status JSON's media path ("" if none)."""
    if not isinstance(path, str) or not path:
        return ""
    link = urljoin(rooms_url.rstrip("/") + "/", path)
    return link if link.startswith(("http://", "https://")) else ""
