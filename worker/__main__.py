"""Run a worker: `python -m worker [--queues crawl-now liveness crawl] [--no-scheduler]`.

The schedule's own queue is always served first, whatever `--queues` says.
"""

from __future__ import annotations

import argparse

from core.config import Config
from core.logs import setup_logging
from core.queues import ALL_QUEUES
from worker.run import run_worker


def main(argv: list[str] | None = None) -> None:
    """Parse the command line and run a worker until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    parser.add_argument("--queues", nargs="+", choices=ALL_QUEUES, default=list(ALL_QUEUES))
    parser.add_argument(
        "--no-scheduler", action="store_true", help="never run the periodic schedule here"
    )
    parser.add_argument("--burst", action="store_true", help="stop when the queues are empty")
    args = parser.parse_args(argv)
    setup_logging()
    run_worker(Config.from_env(), args.queues, scheduler=not args.no_scheduler, burst=args.burst)


if __name__ == "__main__":
    main()
