"""Say which ICE servers (STUN, TURN) the room server and its players gather with."""

from __future__ import annotations

from typing import Any

from rooms.config import RoomsConfig


def client_ice_servers(config: RoomsConfig, identity: str = "") -> list[dict[str, Any]]:
    """Return the ICE servers a player should use, as RTCIceServer dictionaries."""
    return [{"urls": url} for url in config.ice_servers]
