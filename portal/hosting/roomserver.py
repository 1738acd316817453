"""Talk to the configured room server on a host's behalf, with tokens minted here.

Tokens name a person three ways (see core.roomtokens): `sub` is the stable identity
"user-<id>" the room server checks permissions by; `name` is their display name; the
`handle` and `profile` claims are their public handle and the URL of their profile here,
so the room shows hosts and signed-in listeners as who they are, never "Guest N".
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote, urljoin

from core.catalog.models import User
from core.config import Config
from core.roomtokens import mint_room_token

TIMEOUT_S = 5.0
CREATE_TTL_S = 60  # the token only has to survive one request
GO_TTL_S = 900  # long enough to open the room page and connect; reconnects ask again
DOWNLOAD_TTL_S = 120
LISTEN_TTL_S = 12 * 3600  # a listener's evening in the room; the page asks again after
STATUS_TIMEOUT_S = 2.0  # the dashboard waits this long at most for rooms' status
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


def _request(url: str, **kwargs: Any) -> urllib.request.Request:
    if not url.startswith(("http://", "https://")):
        raise RoomServerError("SPACES_ROOMS_URL must be an http:// or https:// address", 500)
    return urllib.request.Request(url, **kwargs)  # noqa: S310 - the scheme is checked above


def _unreachable(config: Config, error: object) -> RoomServerError:
    return RoomServerError(
        f"The room server at {config.rooms_url} did not answer ({error}). "
        "Nothing was lost: check the details and try again in a minute.",
        status=503,
    )


def _refusal(error: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(error.read(16_384) or b"{}").get("error") or error.reason)
    except (ValueError, AttributeError):
        return str(error.reason)


def create_room(config: Config, user: User, fields: dict[str, Any]) -> dict[str, Any]:
    """Open a room for `user` on the room server and return its status JSON."""
    token = host_token(config, user, ttl=CREATE_TTL_S)
    request = _request(
        f"{config.rooms_url}/api/rooms",
        data=json.dumps(fields).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:  # noqa: S310
            body = json.loads(response.read(1_000_000))
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise _unreachable(config, f"HTTP {error.code}") from None
        raise RoomServerError(f"The room server refused: {_refusal(error)}", 400) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise _unreachable(config, getattr(error, "reason", error)) from None
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
    request = _request(
        f"{rooms_url}/api/rooms/{quote(room_id, safe='')}/recording",
        headers={"Authorization": f"Bearer {token}"},
    )
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)  # noqa: S310
    except urllib.error.HTTPError as error:
        status = error.code if error.code in (404, 409, 410) else 502
        raise RoomServerError(f"No recording to download: {_refusal(error)}", status) from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise _unreachable(config, getattr(error, "reason", error)) from None
    headers = {
        "Content-Type": response.headers.get("Content-Type", "audio/ogg"),
        "Content-Disposition": response.headers.get(
            "Content-Disposition", f'attachment; filename="space-{room_id}.ogg"'
        ),
        "Cache-Control": "private, no-store",
    }

    def chunks() -> Iterator[bytes]:
        with response:
            while chunk := response.read(CHUNK):
                yield chunk

    return chunks(), headers


def room_status(rooms_url: str, room_id: str) -> dict[str, Any] | None:
    """Return a room's public status JSON, or None when the server does not answer well."""
    try:
        request = _request(f"{rooms_url}/api/rooms/{quote(room_id, safe='')}")
        with urllib.request.urlopen(request, timeout=STATUS_TIMEOUT_S) as response:  # noqa: S310
            body = json.loads(response.read(1_000_000))
    except (RoomServerError, urllib.error.URLError, TimeoutError, ConnectionError, ValueError):
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
