"""Run the benchmarks, print a table and merge the figures into var/bench/results.json."""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path

from core.config import Config

#: Benchmark name -> module with `run(quick: bool) -> dict[str, float]`.
BENCHMARKS = {
    "search": "bench.search",
    "crawl": "bench.crawl",
    "rooms": "bench.rooms",
    "liveness": "bench.liveness",
    "portal": "bench.portal",
    "discovery": "bench.discovery",
    "notify": "bench.notify",
    "soak": "bench.soak",
}


def run_benchmarks(config: Config, names: list[str], *, quick: bool = False) -> int:
    """Run the named benchmarks (all when empty); return an exit code."""
    unknown = [name for name in names if name not in BENCHMARKS]
    if unknown:
        print(
            f"spaces bench: unknown benchmark {', '.join(unknown)}; "
            f"choose from {', '.join(BENCHMARKS)}",
            file=sys.stderr,
        )
        return 2
    figures: dict[str, float] = {}
    failed: list[str] = []
    for name in names or list(BENCHMARKS):
        print(f"running {name} benchmark…", file=sys.stderr, flush=True)
        started = time.monotonic()
        try:
            module = importlib.import_module(BENCHMARKS[name])
            results = module.run(quick=quick)
        except Exception as error:  # one broken benchmark must not hide the others
            print(f"  {name} failed: {error!r}", file=sys.stderr)
            failed.append(name)
            continue
        print(f"  {name}: {time.monotonic() - started:.0f} s", file=sys.stderr)
        figures.update(results)
    print(format_table(figures))
    path = merge_results(config.data_dir / "bench" / "results.json", figures)
    print(f"\nresults merged into {path}", file=sys.stderr)
    return 1 if failed else 0


def format_table(figures: dict[str, float]) -> str:
    """Return the figures as an aligned two-column table."""
    if not figures:
        return "(no figures)"
    width = max(len(key) for key in figures)
    lines = [f"{'metric'.ljust(width)}  value", f"{'-' * width}  {'-' * 12}"]
    for key in sorted(figures):
        value = figures[key]
        shown = (
            f"{value:,.3f}" if isinstance(value, float) and abs(value) < 100 else f"{value:,.0f}"
        )
        lines.append(f"{key.ljust(width)}  {shown}")
    return "\n".join(lines)


def merge_results(path: Path, figures: dict[str, float]) -> Path:
    """Merge `figures` into the flat JSON object at `path` and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        existing = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        existing = {}
    existing.update(figures)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
    return path
