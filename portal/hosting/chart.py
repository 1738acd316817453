"""Draw listener counts over time as a small inline SVG line chart (no script needed)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from markupsafe import Markup

WIDTH, HEIGHT = 560, 140
PAD_LEFT, PAD_BOTTOM, PAD_TOP = 36, 20, 10


def listener_chart(series: Sequence[tuple[datetime, int]], *, label: str) -> Markup:
    """Return an SVG chart of (time, listeners); an empty string when there are no points."""
    if not series:
        return Markup("")
    start, end = series[0][0], series[-1][0]
    span = max((end - start).total_seconds(), 1.0)
    peak = max(max(n for _, n in series), 1)
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP

    def x(at: datetime) -> float:
        return PAD_LEFT + (at - start).total_seconds() / span * plot_w

    def y(count: int) -> float:
        return PAD_TOP + plot_h - count / peak * plot_h

    points = " ".join(f"{x(at):.1f},{y(n):.1f}" for at, n in series)
    if len(series) == 1:
        points = f"{PAD_LEFT},{y(series[0][1]):.1f} {PAD_LEFT + plot_w},{y(series[0][1]):.1f}"
    base = PAD_TOP + plot_h
    # Numbers and fixed words only go into the markup; the label is escaped by Markup.format.
    return Markup(
        '<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-label="{label}">'
        "<title>{label}</title>"
        '<line x1="{pl}" y1="{base}" x2="{right}" y2="{base}" class="chart-axis"/>'
        '<line x1="{pl}" y1="{top}" x2="{pl}" y2="{base}" class="chart-axis"/>'
        '<text x="{tx}" y="{ty_top}" class="chart-text" text-anchor="end">{peak}</text>'
        '<text x="{tx}" y="{ty_base}" class="chart-text" text-anchor="end">0</text>'
        '<text x="{pl}" y="{h_text}" class="chart-text">{first}</text>'
        '<text x="{right}" y="{h_text}" class="chart-text" text-anchor="end">{last}</text>'
        '<polyline points="{points}" class="chart-line" fill="none"/>'
        "</svg>"
    ).format(
        w=WIDTH,
        h=HEIGHT,
        label=label,
        pl=PAD_LEFT,
        base=f"{base:.1f}",
        right=PAD_LEFT + plot_w,
        top=PAD_TOP,
        tx=PAD_LEFT - 4,
        ty_top=PAD_TOP + 8,
        ty_base=f"{base:.1f}",
        peak=peak,
        h_text=HEIGHT - 4,
        first=start.strftime("%H:%M"),
        last=end.strftime("%H:%M UTC"),
        points=points,
    )
