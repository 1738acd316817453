"""Run the room server in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web

from rooms.app import create_app
from rooms.config import RoomsConfig

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
    """Serve the room server, blocking; SIGINT/SIGTERM end the live rooms and stop."""
    # run_app handles both signals by shutting the app down, which runs
    # RoomHub.shutdown: every peer gets `ended` and every connection is closed.
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
    args = parser.parse_args(argv)
    setup_logging()
    serve(RoomsConfig.from_env(), host=args.host, port=args.port)
