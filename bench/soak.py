"""Soak the room server: eleven talkers and 200 listeners for ten minutes, with drops.

`spaces bench soak` (part of `make bench`), or `python -m bench.soak [--minutes 10]
[--listeners 200]`. Every 30 s window it prints the listeners' packet loss and p99 gap
over that window and the server's CPU and resident memory, so leaks and slow
degradation show as trends. Five connections a minute are cut on purpose (four
listeners and one speaker): each comes back by itself with a new peer connection and
its resume token, as a player does after a network change, and the time from the drop
to its first packet again is noted. A rejoin's silence counts as loss.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from bench.rooms import Bench, server_rss_kb

WINDOW_S = 30.0
LISTENER_DROPS_PER_MIN = 4
TALKER_DROPS_PER_MIN = 1


def soak(minutes: float = 10.0, listeners: int = 200) -> list[dict[str, Any]]:
    """Run the soak and return one row per window (also printed as it goes)."""
    bench = Bench()
    rows: list[dict[str, Any]] = []
    try:
        bench.grow(listeners)
        assert bench.server.pid is not None
        start_rss = server_rss_kb(bench.server.pid)
        print(
            f"{'min':>5} {'loss %':>7} {'gap p99':>8} {'cpu':>5} {'rss MiB':>8} {'Δrss':>6}"
            f" {'drops':>5} {'rejoin max':>10}"
        )
        started = time.monotonic()
        window = 0
        while time.monotonic() - started < minutes * 60:
            # Windows are half a minute: two listener drops in each, a speaker every other.
            drops = LISTENER_DROPS_PER_MIN // 2
            talker = TALKER_DROPS_PER_MIN if window % 2 else 0
            row = bench.measure(WINDOW_S, drops=drops, talker_drops=talker)
            row["minute"] = (time.monotonic() - started) / 60
            row["drops"] = drops + talker
            rows.append(row)
            window += 1
            rejoins = row["rejoin_s"]
            print(
                f"{row['minute']:5.1f} {row['loss_pct']:7.2f} {row['gap_p99_ms']:6.0f}ms "
                f"{row['cpu_cores']:5.2f} {row['rss_kb'] / 1024:8.1f} "
                f"{(row['rss_kb'] - start_rss) / 1024:+6.1f} {len(rejoins):5d} "
                f"{max(rejoins, default=0):9.2f}s",
                flush=True,
            )
    finally:
        bench.close()
    return rows


def summarise(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Return the soak's flat figures: loss, memory trend, rejoins."""
    # Windows carry the same audience, so the mean of their loss is the soak's loss.
    loss = sum(r["loss_pct"] for r in rows) / max(len(rows), 1)
    rejoins = [t for r in rows for t in r["rejoin_s"]]
    rss_mb = np.array([r["rss_kb"] / 1024 for r in rows])
    minutes = np.array([r["minute"] for r in rows])
    # The first minutes fill the allocator's pools and hold the first departed peers
    # until their first reclaim (rooms.gcpolicy: two minutes); the trend over the second
    # half is what a leak would show.
    half = len(rows) // 2
    slope = float(np.polyfit(minutes[half:], rss_mb[half:], 1)[0]) if len(rows) > 3 else 0.0
    return {
        "rooms.soak_minutes": float(minutes[-1]) if len(rows) else 0.0,
        "rooms.soak_listeners": float(min((r["listeners"] for r in rows), default=0)),
        "rooms.soak_loss_pct": loss,
        "rooms.soak_loss_pct_worst_window": max((r["loss_pct"] for r in rows), default=0.0),
        "rooms.soak_gap_p99_ms": max((r["gap_p99_ms"] for r in rows), default=0.0),
        "rooms.soak_rss_mb_end": float(rss_mb[-1]) if len(rows) else 0.0,
        "rooms.soak_rss_growth_mb": float(rss_mb[-1] - rss_mb[0]) if len(rows) else 0.0,
        "rooms.soak_rss_mb_per_min_second_half": slope,
        "rooms.soak_reconnects": float(sum(r["drops"] for r in rows)),
        "rooms.soak_rejoins_completed": float(len(rejoins)),
        "rooms.soak_rejoin_p95_s": float(np.percentile(rejoins, 95)) if rejoins else 0.0,
    }


def run(quick: bool = False) -> dict[str, float]:
    """Run the soak (ten minutes; one with `quick`) and return its figures."""
    rows = soak(1.0, 50) if quick else soak(10.0, 200)
    return summarise(rows)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and soak."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--listeners", type=int, default=200)
    args = parser.parse_args(argv)
    for key, value in summarise(soak(args.minutes, args.listeners)).items():
        print(f"{key:36} {value:10.3f}")


if __name__ == "__main__":
    main()
