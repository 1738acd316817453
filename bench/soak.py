"""Soak the room server: eleven talkers and 200 listeners for ten minutes.

A benchmark entry, not a test: `python -m bench.soak [--minutes 10] [--listeners 200]`
prints, every 30 s, the listeners' packet loss and p99 gap over the last window and
the server's CPU and resident memory, so leaks and slow degradation show as trends.
"""

from __future__ import annotations

import argparse
import time

from bench.rooms import Bench, server_rss_kb

WINDOW_S = 30.0


def soak(minutes: float = 10.0, listeners: int = 200) -> list[dict[str, float]]:
    """Run the soak and return one row per window (also printed as it goes)."""
    bench = Bench()
    rows: list[dict[str, float]] = []
    try:
        bench.grow(listeners)
        assert bench.server.pid is not None
        start_rss = server_rss_kb(bench.server.pid)
        print(f"{'min':>5} {'loss %':>7} {'gap p99':>8} {'cpu':>5} {'rss MiB':>8} {'Δrss':>6}")
        started = time.monotonic()
        while time.monotonic() - started < minutes * 60:
            row = bench.measure(WINDOW_S)
            row["minute"] = (time.monotonic() - started) / 60
            rows.append(row)
            print(
                f"{row['minute']:5.1f} {row['loss_pct']:7.2f} {row['gap_p99_ms']:6.0f}ms "
                f"{row['cpu_cores']:5.2f} {row['rss_kb'] / 1024:8.1f} "
                f"{(row['rss_kb'] - start_rss) / 1024:+6.1f}",
                flush=True,
            )
    finally:
        bench.close()
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and soak."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--listeners", type=int, default=200)
    args = parser.parse_args(argv)
    soak(args.minutes, args.listeners)


if __name__ == "__main__":
    main()
