"""Run the room server in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from rooms.app import create_app
from rooms.config import ConfigError, RoomsConfig, add_ice_flags, env_with_flags

#: Libraries that log every packet or ICE check at INFO.
QUIET = ("aioice", "aiortc")


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with timestamps; keep chatty libraries at WARNING.

    Where logging is set up already, a launcher chose what to show (every request line
    with `spaces up --verbose`); otherwise request lines are left out too.
    """
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    if logging.getLogger().handlers:
        return
    logging.basicConfig(level=level, format="%(asctime)s %(name)s: %(message)s")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def serve(config: RoomsConfig, host: str = "127.0.0.1", port: int = 8100) -> None:
    """Serve the room server, blocking; SIGINT/SIGTERM disconnect everyone and stop."""
    log_ice(config)
    # run_app handles both signals by shutting the app down, which runs
    # RoomHub.shutdown: every connection is closed with 1012 (the players rejoin when
    # the server is back) and live rooms stay live in the store for the next start.
    web.run_app(
        create_app(config),
        host=host,
        port=port,
        print=lambda _msg: logging.getLogger(__name__).info(
            "room server on http://%s:%s (public address %s)", host, port, config.rooms_url
        ),
        shutdown_timeout=5.0,
    )


def main(argv: list[str] | None = None) -> None:
    """Parse `python -m rooms` arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m rooms", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8100, help="port to listen on")
    add_ice_flags(parser)
    args = parser.parse_args(argv)
    try:
        config = RoomsConfig.from_env(env_with_flags(args))
    except ConfigError as error:
        parser.exit(2, f"{parser.prog}: {error}\n")
    setup_logging()
    serve(config, host=args.host, port=args.port)


def log_ice(config: RoomsConfig) -> None:
    """Say at start how peers reach this server (never the TURN credentials)."""
    ice = config.ice
    if not (ice.stun or ice.turn or ice.public_ip or ice.udp_ports):
        return
    ports = f"{ice.udp_ports[0]}-{ice.udp_ports[1]}" if ice.udp_ports else "any"
    credentials = "REST API secret" if ice.turn_secret else "static" if ice.turn else "none"
    logging.getLogger(__name__).info(
        "ICE: STUN %s; TURN %s (credentials: %s); public address %s; UDP ports %s",
        ", ".join(ice.stun) or "none",
        ", ".join(ice.turn) or "none",
        credentials,
        ice.public_ip or "none",
        ports,
    )
