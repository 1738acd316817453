"""Talk to the configured room server on a host's behalf, with tokens minted here."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from core.catalog.models import User
from core.config import Config
from core.roomtokens import mint_room_token

TIMEOUT_S = 5.0
CREATE_TTL_S = 60  # the token only has to survive one request
GO_TTL_S = 900  # long enough to open the room page and connect; reconnects ask again
DOWNLOAD_TTL_S = 120
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
        name=user.display_name or user.email.split("@", 1)[0],
        grants=("host",),
        room=room,
        ttl=ttl,
        protected=user.protected,
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
